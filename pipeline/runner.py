"""Run a validated config: enumerate the source, skip finished work units, execute the Ray Data
plan for the rest, and publish the run's sidecars (manifest, sizes, stats)."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import ray
import ray.data

from pipeline.calibration import calibrate_clip_cutoff
from pipeline.config import RayConfig, RunConfig
from pipeline.errors import OperatorError
from pipeline.history import DISPLACED, SUPERSEDED, History, parquet_parts
from pipeline.incremental import (
    RETRACTED,
    changed_since,
    load_consumed,
    write_consumed,
)
from pipeline.manifest import manifest
from pipeline.plan import planned_stages, write_window
from pipeline.progress import RunProgress
from pipeline.sources import describe, enumerate_source, stage_context
from pipeline.stats import merge_units, render_summary
from pipeline.units import (
    OutputLocation,
    fingerprint,
    fingerprint_inputs,
    is_done,
    read_unit_record,
    split_units,
)
from stages.dedup.stage import DISPLACED_PARTS
from stages.io.output_location import open_location, read_json, read_parquet, write_json
from stages.io.shard_writer import shard_name

log = logging.getLogger(__name__)

# What a run writes into its output folder; --overwrite removes exactly these, nothing else.
MANAGED_OUTPUTS = (
    "shards", "index", "rejects", "embeddings", "hashes", "units", "subsets", "stats.json", "run.json", "manifest.json", "progress.json", "_work",
    "consumed.parquet", "retracted.json", "superseded.json", "displaced", "displaced.json",
)  # fmt: skip


class OutputExistsError(OperatorError):
    pass


def prepare_output(location: OutputLocation, inputs: dict, *, overwrite: bool) -> bool:
    """Make the output ready for a run with these fingerprint inputs; True when it resumes a run.

    The same config and code resume where an earlier run stopped. Anything that would change
    the output (source, stage parameters, split fractions, figcurate version) is refused unless
    ``overwrite`` is given, so one output never mixes samples of two different runs.
    """
    try:
        location.ensure()
    except NotADirectoryError as error:
        raise OutputExistsError(str(error)) from None
    existing = [name for name in MANAGED_OUTPUTS if location.exists(name)]
    if existing and not overwrite:
        previous = read_json(location, "run.json")
        if previous is None:
            raise OutputExistsError(f"output {location} holds files of an unknown run ({', '.join(existing)}); pass --overwrite to replace them")
        if previous.get("fingerprint") != fingerprint(inputs):
            changed = _changed_keys(previous.get("fingerprint_inputs", {}), inputs)
            raise OutputExistsError(
                f"output {location} holds a run with different settings (changed: {', '.join(changed) or 'figcurate code'}); "
                "resuming would mix two different outputs. Pass --overwrite to replace it, or choose another --output"
            )
        return True
    for name in existing:
        location.remove(name)
    return False


def _changed_keys(old: dict, new: dict, prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            changed.append(f"{prefix}{key}")
    return changed


# Ray Data's executor sees a task finish only when its ray.wait over all running tasks returns:
# when every one is done, or after a timeout (0.1 s in Ray). With one long task per CPU that left
# each worker idle about 0.17 s at every block's end; polling every 0.02 s cut that to 0.05 s, 3.9
# to 1.2 idle core-seconds in a 600-article run on 2 cores, for 0.5 s more of the driver's CPU.
TASK_POLL_S = 0.02


def poll_tasks_promptly() -> None:
    """Have Ray Data's executor look for finished tasks every ``TASK_POLL_S`` (an internal of the
    locked Ray; where a later Ray lacks it, nothing changes and the log says so)."""
    from ray.data._internal.execution import streaming_executor_state

    if hasattr(streaming_executor_state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S"):
        streaming_executor_state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S = TASK_POLL_S
    else:
        log.info("this Ray's executor has no task-completion timeout to shorten; its own polling stands")


def init_ray(config: RayConfig) -> None:
    if ray.is_initialized():
        return
    if config.address:
        ray.init(address=config.address)
    else:
        # "local": always a new instance of our own, even where another Ray runs on this machine
        # (ray.init would join the newest one it finds, and refuse num_cpus there)
        ray.init(address="local", num_cpus=config.num_cpus, object_store_memory=config.object_store_memory, include_dashboard=False)


def run(config: RunConfig, *, overwrite: bool = False, since: str | Path | None = None) -> dict:
    """Execute the run (or finish an interrupted one) and return its stats (also in ``stats.json``).

    With ``since`` (a previous run's output: a folder, or ``s3://`` on this run's output endpoint)
    only new or changed article versions run.
    """
    started = time.monotonic()
    target = config.output.target()
    output = target.open()
    since = open_location(str(since), config.output.endpoint_url, config.output.signed) if since is not None else None
    inputs = fingerprint_inputs(config)
    run_fingerprint = fingerprint(inputs)
    consumed_before = load_consumed(since) if since is not None else None  # before touching the output: it may be the same folder
    history = History.read(since, config.output.endpoint_url, config.output.signed) if since is not None else None
    resumed = prepare_output(output, inputs, overwrite=overwrite)
    enumerated = enumerate_source(config.source)
    articles = changed_since(enumerated, consumed_before) if consumed_before is not None else enumerated
    if consumed_before is not None:
        log.info("--since %s: %d of %d article versions are new or changed", since, len(articles), len(enumerated))
    processed = {article.pmcid for article in articles}  # what this run replaces in the runs it follows
    units = split_units(articles, config.output.articles_per_shard)
    earlier = {unit.index: read_unit_record(output, unit.index) for unit in units} if resumed else {}
    todo = [unit for unit in units if not is_done(unit, run_fingerprint, earlier.get(unit.index), output)]
    scratch = output.local_scratch() or str(Path(tempfile.gettempdir()) / f"figcurate-work-{run_fingerprint}")
    context = stage_context(config.source).model_copy(update={"scratch_dir": scratch})
    previous = (read_json(output, "run.json") or {}) if resumed else {}
    clip_cutoff = previous.get("clip_cutoff")
    if todo and clip_cutoff is None and _wants_calibration(config):
        init_ray(config.ray)
        clip_cutoff = calibrate_clip_cutoff(config, units, context)
        log.info("clip_score keeps the top %.1f%%: cut-off %.4f from %d samples", 100 * clip_cutoff["keep_top_fraction"], clip_cutoff["cutoff"], clip_cutoff["calibration_samples"])
    write_json(
        output,
        "run.json",
        {"fingerprint": run_fingerprint, "fingerprint_inputs": inputs, "clip_cutoff": clip_cutoff, "config": json.loads(config.model_dump_json())},
    )
    log.info(
        "%d article versions in %d work units, %d to do (%d already done); stages: %s",
        len(articles), len(units), len(todo), len(units) - len(todo), [p.name for p in planned_stages(config)],
    )  # fmt: skip

    if todo:
        init_ray(config.ray)  # before the clock starts: samples/s measures the pipeline, not Ray's start-up
    pipeline_started = time.monotonic()
    running = {unit.index for unit in todo}
    done = [unit for unit in units if unit.index not in running]
    progress = RunProgress(output, len(units), len(done), sum(earlier[unit.index]["samples"] for unit in done))
    with progress.tracking():
        if todo:
            ray.data.DataContext.get_current().shuffle_strategy = config.ray.shuffle_strategy
            poll_tasks_promptly()
            earlier_samples = history.references(processed) if history is not None and config.stage_spec("dedup").enabled else None
            run_windows(_with_clip_cutoff(config, clip_cutoff), todo, done, context, run_fingerprint, output, progress, earlier_samples)
        pipeline_seconds = time.monotonic() - pipeline_started

        # the units this run wrote are read back; the others' records were read at the start
        records = [read_unit_record(output, unit.index) if unit.index in running else earlier[unit.index] for unit in units]
        missing = [unit.index for unit, record in zip(units, records) if record is None]
        if missing:
            raise RuntimeError(f"work units {missing[:5]} finished without their unit record; rerun to complete them")
        write_json(output, "shards/sizes.json", {record["shard"]: record["samples"] for record in records})
        write_json(output, "manifest.json", manifest(run_fingerprint, records))
        write_consumed(output, articles, consumed_before)
        retracted = sorted({tuple(item) for record in records for item in record.get("retracted", [])}, key=lambda k: (int(k[0][3:]), k[1]))
        write_json(output, RETRACTED, [{"pmcid": pmcid, "version": version} for pmcid, version in retracted])
        superseded = history.superseded(processed) if history is not None else []
        write_json(output, SUPERSEDED, superseded)
        displaced = history.displaced(processed, parquet_parts(output, DISPLACED_PARTS)) if history is not None else []
        write_json(output, DISPLACED, displaced)
        stats = {
            "run": {"name": config.name, "output": str(output), "fingerprint": run_fingerprint},
            "source": {
                **describe(config.source),
                "article_versions": len(articles),
                "enumerated": len(enumerated),
                "since": str(since) if since else None,  # absolute: the next run follows the link from anywhere
                "superseded_samples": len(superseded),
                "displaced_samples": len(displaced),
            },
            "resume": {
                "units_total": len(units),
                "units_run": len(todo),
                "units_skipped": len(units) - len(todo),
                "samples_run": sum(records[unit.index]["samples"] for unit in todo),
            },
            **merge_units(records),
            "clip_cutoff": clip_cutoff,
            "timing": {"pipeline_seconds": round(pipeline_seconds, 3), "total_seconds": round(time.monotonic() - started, 3)},
        }
        write_json(output, "stats.json", stats)
    return stats


def windows_of(units: list, window_units: int) -> list[list]:
    return [units[start : start + window_units] for start in range(0, len(units), window_units)]


def run_windows(
    config: RunConfig, todo: list, done: list, context, run_fingerprint: str, output, progress: RunProgress, earlier: pa.Table | None = None
) -> None:
    """The units to do, a window at a time: each window's shards, index, rejects and unit records are
    published before the next window starts, so a crash loses at most the window in flight.

    Dedup weighs every finished unit's hashes (earlier windows, earlier runs) as references, the
    way a resumed run does. Units hold article versions in PMCID order and windows run in unit
    order, so with ``keep: first`` an earlier window's sample is always the one a single window
    would keep: any window size gives the same samples. ``earlier``: the current samples of the runs
    a ``--since`` run follows (``history.py``), references too.
    """
    dedup = config.stage_spec("dedup").enabled
    references = dedup_references(output, done) if dedup and done else None
    if dedup and earlier is not None:
        references = earlier if references is None else pa.concat_tables([earlier, references])
    windows = windows_of(todo, config.output.window_units)
    progress.windows_started(len(windows))
    for number, window in enumerate(windows, 1):
        log.info("window %d of %d: units %d to %d", number, len(windows), window[0].index, window[-1].index)
        for finished in write_window(config, window, context, run_fingerprint, references):
            progress.unit_finished(finished)
        progress.window_finished()
        if dedup and number < len(windows):
            added = dedup_references(output, window)
            references = added if references is None or added is None else pa.concat_tables([references, added])


def dedup_references(output, done: list) -> pa.Table | None:
    """The hashes the finished units' samples were deduplicated with, for the units still to run."""
    parts = [read_parquet(output, f"hashes/{shard_name(unit.index)}.parquet") for unit in done]
    tables = [table for table in parts if table is not None]
    return pa.concat_tables(tables) if tables else None


def _wants_calibration(config: RunConfig) -> bool:
    spec = config.stage_spec("clip_score")
    return spec.enabled and spec.keep_top_fraction is not None


def _with_clip_cutoff(config: RunConfig, clip_cutoff: dict | None) -> RunConfig:
    """The config the workers run: a calibrated keep_top_fraction becomes a plain min_score."""
    if clip_cutoff is None:
        return config
    spec = config.stage_spec("clip_score").model_copy(update={"min_score": clip_cutoff["cutoff"], "keep_top_fraction": None})
    return config.model_copy(update={"stages": config.stages.model_copy(update={"clip_score": spec})})


def summary(stats: dict) -> str:
    return render_summary(stats, stats["run"]["output"])
