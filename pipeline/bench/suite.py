"""``figcurate bench cpu-path``, ``bench scaling`` and ``bench suite``: whole-run figures.

- ``cpu-path``: the CPU stages on generated corpora of two sizes, beside a bare loop that only
  decodes, resizes and re-encodes the same images (the practical limit of any pipeline that must
  touch every pixel once), run on as many cores as the pipeline and, beside it, in one process:
  the steady-state ratio (marginal core-time per figure against the loop's per image), the fixed
  cost, the whole-run ratio, and each stage's milliseconds per item.
- ``scaling``: the same kind of corpus at 1x and 4x; time should grow about 4x and peak memory
  hardly at all, because work units stream through and only finished shards stay behind.
- ``suite``: every bench at a modest size, and one table of them.

Runs go through ``figcurate run`` in a child process (a fresh Ray, started and stopped as an
operator's run would), with the memory of its whole process tree sampled.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from PIL import Image

from pipeline.bench.parts import PeakMemory
from pipeline.demo_corpus import generate_corpus, load_truth

IMAGES = {"max_side": 512, "jpeg_quality": 90}


def run_config(corpus: Path, output: Path, cpus: int, window_units: int | None = None) -> dict:
    """The demo's CPU path (panels, subcaptions, filters, figure types, dedup) without models."""
    return {
        "name": "bench",
        "source": {"kind": "local", "root": str(corpus)},
        "output": {"path": str(output), "articles_per_shard": 50, **({"window_units": window_units} if window_units else {})},
        "ray": {"num_cpus": cpus},
        "stages": {"images": IMAGES},
    }


def timed_run(corpus: Path, folder: Path, cpus: int, window_units: int | None = None, private: bool = False) -> dict:
    """``figcurate run`` in a child process: its figures, samples, seconds, and the peak memory of its
    process tree (with ``private``, its private memory too: the sampler then takes 2-3% of a core
    from the run, see ``PeakMemory``, so timings leave it out)."""
    import psutil

    output = folder / "out"
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump(run_config(corpus, output, cpus, window_units)))
    started = time.perf_counter()
    process = psutil.Popen([sys.executable, "-m", "pipeline.cli", "--log-level", "WARNING", "run", str(config), "--overwrite"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    with PeakMemory(process, every_s=0.5, private=private) as peaks:
        log, _ = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"bench run failed ({process.returncode}): {log.decode(errors='replace')[-2000:]}")
    stats = json.loads((output / "stats.json").read_text())
    return {
        "wall_s": round(seconds, 2),
        "pipeline_s": stats["timing"]["pipeline_seconds"],
        # the tree's peak is its start plus its peak growth (adding peaks.root would count the driver twice)
        "peak_rss_mb": round((peaks.baseline + peaks.all) / 2**20),
        **({"peak_private_mb": round(peaks.private / 2**20)} if private else {}),
        "figures": stats["stages"]["images"]["in"],
        "samples": stats["samples"],
    }


def images_stage_inputs(corpus: Path) -> list[Path]:
    """The figure files a run's images stage decodes: newest versions, of articles and figures that
    parsing and fetching keep (the generated corpus records what each broken input should lose)."""
    articles, figures = load_truth(corpus)
    dropped = {(a["pmcid"], a["version"]) for a in articles if a["expected_drop"]}
    return [
        corpus / f"{f['pmcid']}.{f['version']}" / f["media_name"]
        for f in figures
        if f["newest"] and (f["pmcid"], f["version"]) not in dropped and (f["expected_drop"] is None or f["expected_drop"]["stage"] == "images")
    ]


def bare_loop(corpus: Path, processes: int = 1) -> dict:
    """Decode, resize and re-encode the images the run decodes, and nothing else, in ``processes``
    processes at once (each a share of the images, started together): on a machine whose cores
    slow each other when all are busy, as a run's workers do, the loop's per-core rate under the
    same load is the fair yardstick."""
    paths = images_stage_inputs(corpus)
    shares = [paths[start::processes] for start in range(processes)]
    if processes == 1:
        parts = [_bare_share(shares[0])]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        start = context.Barrier(processes)
        with ProcessPoolExecutor(processes, mp_context=context, initializer=_wait_for_all, initargs=(start,)) as pool:
            parts = list(pool.map(_bare_share, shares))
    done, undecodable, seconds = (sum(part[index] for part in parts) for index in range(3))
    return {
        "images": done,
        "undecodable": undecodable,
        "processes": processes,
        "seconds": round(seconds, 3),  # summed over the processes: core-seconds
        "images_per_s_per_core": round(done / seconds, 1),
    }


_start_together = None


def _wait_for_all(barrier) -> None:
    global _start_together
    _start_together = barrier


def _bare_share(paths: list[Path]) -> tuple[int, int, float]:
    payloads = [path.read_bytes() for path in paths]
    if _start_together is not None:
        _start_together.wait()
    done = undecodable = 0
    started = time.perf_counter()
    for data in payloads:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image = image.convert("RGB")
        except (OSError, ValueError):  # the corpus holds broken images on purpose
            undecodable += 1
            continue
        image.thumbnail((IMAGES["max_side"], IMAGES["max_side"]), Image.Resampling.LANCZOS)
        image.save(io.BytesIO(), format="JPEG", quality=IMAGES["jpeg_quality"])
        done += 1
    return done, undecodable, time.perf_counter() - started


def bench_cpu_path(articles: int = 150, cpus: int = 2, seed: int = 0, factor: int = 4, repeats: int = 1) -> dict:
    """Whole runs on corpora of ``articles`` and ``factor`` times as many, beside the bare loop over the
    larger one's images. Their difference is the steady state: the marginal core-time per figure,
    set against the bare loop's per image, with the fixed cost (Ray's start, the plan, actors) apart.
    The stages' own cost per item comes from running them in this process on the smaller corpus.

    The measurements go in rounds, each the two runs and both bare loops back to back, so that a
    round's ratio sets work done under the same conditions against each other; with ``repeats``
    rounds the median round counts (``rounds`` keeps them all). This machine's speed drifts by a
    fifth over minutes, and the fastest of each measurement, taken at different times, mixed its states."""
    with tempfile.TemporaryDirectory() as folder:
        small_corpus, large_corpus = Path(folder) / "small", Path(folder) / "large"
        generate_corpus(small_corpus, articles=articles, seed=seed)
        generate_corpus(large_corpus, articles=articles * factor, seed=seed)
        stages = stage_breakdown(small_corpus, Path(folder) / "breakdown", cpus)
        rounds = []
        for _ in range(repeats):
            small = timed_run(small_corpus, _folder(Path(folder) / "small_run"), cpus) | {"articles": articles}
            large = timed_run(large_corpus, _folder(Path(folder) / "large_run"), cpus) | {"articles": articles * factor}
            rounds.append(cpu_path_round(small, large, bare_loop(large_corpus, cpus), bare_loop(large_corpus), cpus))
    chosen = median_round(rounds)
    small, large, bare = chosen["small"], chosen["large"], chosen["bare_loop"]
    per_core = large["figures"] / large["pipeline_s"] / cpus
    return {
        "bench": "cpu-path",
        "articles": [small["articles"], large["articles"]],
        "cpus": cpus,
        "runs": [
            small | {"pipeline_s_tries": [r["small"]["pipeline_s"] for r in rounds]},
            large | {"pipeline_s_tries": [r["large"]["pipeline_s"] for r in rounds]},
        ],
        "figures": large["figures"],
        "samples": large["samples"],
        "pipeline_s": large["pipeline_s"],
        "wall_s": large["wall_s"],
        "figures_per_s_per_core": round(per_core, 1),
        "samples_per_s_per_core": round(large["samples"] / large["pipeline_s"] / cpus, 1),
        "bare_loop": bare,
        "bare_loop_one_process": chosen["bare_loop_one_process"],
        **{key: chosen[key] for key in ROUND_FIGURES},
        "whole_run_ratio": round(per_core / bare["images_per_s_per_core"], 3),
        "peak_rss_mb": large["peak_rss_mb"],
        "rounds": [{key: r[key] for key in ROUND_FIGURES} for r in rounds],
        "stages": stages,
    }


ROUND_FIGURES = (
    "marginal_core_ms_per_figure",
    "bare_core_ms_per_image",
    "bare_core_ms_per_image_one_process",
    # the steady state: what one more figure costs the path against what it costs the bare loop on as
    # many cores as the run (each core as loaded as the run's are) ...
    "ratio_to_bare_loop",
    # ... and against the loop alone on one core, the idle machine's best (the yardstick until 2026-12-07)
    "ratio_to_bare_loop_one_process",
    "fixed_s",
)


def cpu_path_round(small: dict, large: dict, bare: dict, bare_alone: dict, cpus: int) -> dict:
    """One round's runs and loops, and the figures they give together."""
    marginal_ms = marginal_core_ms(small, large, cpus)
    bare_ms, bare_alone_ms = 1000 / bare["images_per_s_per_core"], 1000 / bare_alone["images_per_s_per_core"]
    return {
        "small": small,
        "large": large,
        "bare_loop": bare,
        "bare_loop_one_process": bare_alone,
        "marginal_core_ms_per_figure": round(marginal_ms, 1),
        "bare_core_ms_per_image": round(bare_ms, 1),
        "bare_core_ms_per_image_one_process": round(bare_alone_ms, 1),
        "ratio_to_bare_loop": round(bare_ms / marginal_ms, 3) if marginal_ms > 0 else None,
        "ratio_to_bare_loop_one_process": round(bare_alone_ms / marginal_ms, 3) if marginal_ms > 0 else None,
        "fixed_s": round(small["pipeline_s"] - small["figures"] * marginal_ms / cpus / 1000, 2),
    }


def median_round(rounds: list[dict]) -> dict:
    """The round whose steady-state ratio is the median (the lower middle of an even count)."""
    ordered = sorted(rounds, key=lambda r: r["ratio_to_bare_loop"] if r["ratio_to_bare_loop"] is not None else float("-inf"))
    return ordered[(len(ordered) - 1) // 2]


def _folder(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def marginal_core_ms(small: dict, large: dict, cpus: int) -> float:
    """What one more figure costs a run, in core-milliseconds: two runs' pipeline time apart over their figures apart."""
    return (large["pipeline_s"] - small["pipeline_s"]) * cpus * 1000 / max(1, large["figures"] - small["figures"])


def stage_breakdown(corpus: Path, folder: Path, cpus: int) -> list[dict]:
    """Each stage of the run's plan on the whole corpus in this process, one after another (as
    ``figcurate plan`` measures them): core-milliseconds per item it takes in, and apart from them
    the stage's setup (building it and its first batch: imports, tokenizers, models)."""
    import ray

    from pipeline.config import RunConfig
    from pipeline.estimate import measure_sample
    from pipeline.sources import enumerate_source, stage_context

    config = RunConfig.model_validate(run_config(corpus, folder / "breakdown", cpus))
    context = stage_context(config.source).model_copy(update={"scratch_dir": str(folder)})
    try:
        costs, _ = measure_sample(config, enumerate_source(config.source), context, {})
    finally:
        ray.shutdown()
    return [
        {"stage": cost.name, "unit": cost.unit, "items": cost.rows_in,
         "ms_per_item": round(cost.seconds * 1000 / cost.rows_in, 2) if cost.rows_in else None,
         "setup_s": round(cost.setup_seconds, 2), "note": cost.note or None}
        for cost in costs
    ]  # fmt: skip


def bench_scaling(articles: int = 100, factor: int = 4, cpus: int = 2, seed: int = 0, window_units: int | None = None) -> dict:
    """Whole runs at 1x and ``factor``x; ``window_units`` (null: the config's default) bounds what one window holds."""
    rows = []
    for size in (articles, articles * factor):
        with tempfile.TemporaryDirectory() as folder:
            corpus = Path(folder) / "corpus"
            generate_corpus(corpus, articles=size, seed=seed)
            run = timed_run(corpus, Path(folder), cpus, window_units, private=True)
        rows.append({key: run[key] for key in ("figures", "samples", "pipeline_s", "wall_s", "peak_rss_mb", "peak_private_mb")} | {"articles": size})
    small, large = rows
    return {
        "bench": "scaling",
        "cpus": cpus,
        "window_units": window_units,
        "runs": rows,
        "input_ratio": round(large["figures"] / small["figures"], 2),
        "time_ratio": round(large["pipeline_s"] / small["pipeline_s"], 2),
        "memory_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
        # RSS counts the object store's shared pages once per worker that touched them; private memory does not
        "private_memory_ratio": round(large["peak_private_mb"] / small["peak_private_mb"], 2),
        "marginal_core_ms_per_figure": round(marginal_core_ms(small, large, cpus), 1),
    }


def bench_panels(figures: int = 300, seed: int = 0) -> dict:
    """Panel splitting's figures/s on one core, with its accuracy on the same generated figures."""
    from pipeline.evaluation.evaluate import evaluate_panels

    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        generate_corpus(corpus, articles=max(1, figures // 2), seed=seed)
        result = evaluate_panels(corpus, limit=figures)
    return {"bench": "panels", **{key: result[key] for key in ("figures", "figures_per_second", "imageclef_accuracy") if key in result}}


def run_suite(*, articles: int = 200, cpus: int = 2) -> dict:
    from pipeline.bench.parts import bench_dedup, bench_image_hashes, bench_shards
    from pipeline.bench.parse import bench_parse
    from pipeline.evaluation.evaluate import REALDATA_PMC

    results = {"cpu_path": bench_cpu_path(max(10, articles // 2), cpus), "scaling": bench_scaling(max(25, articles // 4), 4, cpus), "panels": bench_panels()}
    try:
        results["parse"] = bench_parse(REALDATA_PMC, repeat=5) if REALDATA_PMC.is_dir() else {"skipped": f"no real PMC files at {REALDATA_PMC}"}
    except (ImportError, SystemExit) as missing:  # pubmed_parser is the bench extra
        results["parse"] = {"skipped": str(missing)}
    results["shards"] = bench_shards(samples=500)
    results["image_hashes"] = bench_image_hashes(100)
    results["dedup"] = bench_dedup((100_000,))
    try:
        from pipeline.bench.parts import bench_fetch

        results["fetch"] = bench_fetch(200, 64, (1, 8))
    except SystemExit as missing:  # moto is a test dependency
        results["fetch"] = {"skipped": str(missing)}
    return results


def render_suite(results: dict) -> str:
    cpu, scaling = results["cpu_path"], results["scaling"]
    lines = [
        "| bench | figure |",
        "| --- | --- |",
        (
            f"| CPU path ({cpu['cpus']} cores, {cpu['figures']} figures) | {cpu['figures_per_s_per_core']} figures/s per core,"
            f" {cpu['samples_per_s_per_core']} samples/s per core |"
        ),
        (
            f"| bare decode-resize-encode loop | {cpu['bare_loop']['images_per_s_per_core']} images/s per core on"
            f" {cpu['bare_loop']['processes']} cores, {cpu['bare_loop_one_process']['images_per_s_per_core']} alone on one |"
        ),
        (
            f"| CPU path / bare loop | {cpu['ratio_to_bare_loop']} steady state ({cpu['marginal_core_ms_per_figure']} core-ms a figure"
            f" against {cpu['bare_core_ms_per_image']}; {cpu['ratio_to_bare_loop_one_process']} against the loop"
            f" alone), {cpu['whole_run_ratio']} whole run, fixed {cpu['fixed_s']} s |"
        ),
        (
            f"| scaling 1x -> {scaling['input_ratio']}x input | time x{scaling['time_ratio']}, peak memory x{scaling['memory_ratio']}"
            f" ({scaling['runs'][0]['peak_rss_mb']} -> {scaling['runs'][1]['peak_rss_mb']} MB) |"
        ),
        f"| panel splitting | {results['panels'].get('figures_per_second')} figures/s on one core |",
    ]
    parse = results["parse"]
    if "skipped" not in parse:
        lines.append(f"| JATS parsing | {parse['figcurate']['documents_per_s']} documents/s on one core ({parse['speed_ratio']} of pubmed_parser's speed) |")
    lines.append(f"| shard writing | {results['shards']['write_mb_per_s']} MB/s, verify {results['shards']['verify_share_of_write']} of write time |")
    lines.append(f"| image hashing | {results['image_hashes']['images_per_s_per_core']} figures/s per core |")
    dedup = results["dedup"][0]
    lines.append(f"| dedup ({dedup['hashes']:,} candidates) | {dedup['hashes_per_s']:,} candidates/s, peak {dedup['peak_rss_all_processes_mb']} MB |")
    fetch = results["fetch"]
    if isinstance(fetch, list):
        lines.append("| fetch (loopback S3) | " + ", ".join(f"{row['objects_per_s']} objects/s at concurrency {row['concurrency']}" for row in fetch) + " |")
    return "\n".join(lines)
