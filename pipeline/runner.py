"""Run a validated config: enumerate the source, execute the Ray Data plan, publish the run's sidecars."""

from __future__ import annotations

import json
import logging
import shutil
import time
from importlib.metadata import version as package_version
from pathlib import Path

import ray
import ray.data

from pipeline.config import RayConfig, RunConfig
from pipeline.incremental import RETRACTED, changed_since, load_consumed, retracted_versions, write_consumed
from pipeline.plan import build_dataset, planned_stages
from pipeline.sources import describe, enumerate_source, stage_context
from pipeline.stats import merge_units, render_summary, write_json
from schemas.records import SCHEMA_VERSION
from stages.shard_writer import shard_name

log = logging.getLogger(__name__)

# What a run writes into its output folder; --overwrite removes exactly these, nothing else.
MANAGED_OUTPUTS = ("shards", "index", "rejects", "units", "stats.json", "run.json", "consumed.parquet", "retracted.json")


class OutputExistsError(Exception):
    pass


def prepare_output(output: Path, *, overwrite: bool) -> None:
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output {output} exists and is not a folder")
    existing = [name for name in MANAGED_OUTPUTS if (output / name).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"output {output} already holds a run ({', '.join(existing)}); pass --overwrite to replace it or choose another --output"
        )
    for name in existing:
        path = output / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    output.mkdir(parents=True, exist_ok=True)


def init_ray(config: RayConfig) -> None:
    if ray.is_initialized():
        return
    if config.address:
        ray.init(address=config.address)
    else:
        ray.init(num_cpus=config.num_cpus, object_store_memory=config.object_store_memory, include_dashboard=False)


def run(config: RunConfig, *, overwrite: bool = False, since: Path | None = None) -> dict:
    """Execute the run and return its stats (also written to ``<output>/stats.json``).

    With ``since`` (a previous run's output folder) only new or changed article versions run.
    """
    started = time.monotonic()
    output = config.output.path.resolve()
    previous = load_consumed(since) if since is not None else None  # before touching the output: it may be the same folder
    prepare_output(output, overwrite=overwrite)
    enumerated = enumerate_source(config.source)
    articles = changed_since(enumerated, previous) if previous is not None else enumerated
    if previous is not None:
        log.info("--since %s: %d of %d article versions are new or changed", since, len(articles), len(enumerated))
    write_json(output / "run.json", {"figcurate": package_version("figcurate"), "schema_version": SCHEMA_VERSION, "config": json.loads(config.model_dump_json())})
    n_units = -(-len(articles) // config.output.articles_per_shard)
    log.info("%d article versions in %d work units; stages: %s", len(articles), n_units, [p.name for p in planned_stages(config)])

    init_ray(config.ray)
    ray.data.DataContext.get_current().shuffle_strategy = config.ray.shuffle_strategy
    pipeline_started = time.monotonic()
    context = stage_context(config.source)
    if articles:
        build_dataset(config, articles, context).take_all()
    pipeline_seconds = time.monotonic() - pipeline_started

    unit_records = [json.loads((output / "units" / f"{shard_name(u)}.json").read_text()) for u in range(n_units)]
    stats = merge_units(unit_records)
    sizes = {record["shard"]: record["samples"] for record in unit_records}
    (output / "shards").mkdir(exist_ok=True)
    write_json(output / "shards" / "sizes.json", sizes)
    write_consumed(output, articles, previous)
    write_json(output / RETRACTED, retracted_versions(output))
    stats = {
        "run": {"name": config.name, "output": str(output)},
        "source": {**describe(config.source), "article_versions": len(articles), "enumerated": len(enumerated), "since": str(since) if since else None},
        **stats,
        "timing": {"pipeline_seconds": round(pipeline_seconds, 3), "total_seconds": round(time.monotonic() - started, 3)},
    }
    write_json(output / "stats.json", stats)
    return stats


def summary(stats: dict) -> str:
    return render_summary(stats, Path(stats["run"]["output"]))
