"""``figcurate plan``: what a run will cost before it runs, from a sample measured on this machine.

The source is enumerated as the run would (or its size given, for a set too large to list), an
evenly spread sample of article versions goes through the planned stages in this process, one stage
at a time, and each stage's seconds per article become core-hours for the whole set. The sample's
funnel gives figures, panels and samples per article; writing its samples as a shard gives the
bytes per sample. Stages that want a GPU are not run where there is none: their rows pass through,
and their GPU-hours come from a stated throughput (``--gpu-rate``), never from CPU timings.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.config import RunConfig
from pipeline.plan import PlannedStage, last_to_use_pixels, planned_stages, source_table
from pipeline.sources import enumerate_source, stage_context
from pipeline.units import WorkUnit
from stages.images.pixels import without_pixels
from stages.io.shard_writer import index_part, write_tar
from stages.io.source_local import ArticleVersion
from stages.runtime.context import StageContext

# Items per second on one GPU, assumed for GPU stages that the planning machine cannot run. CLIP
# ViT-B/16 image+text scoring in fp16: clip-retrieval reports about 1,500 pairs/s on an RTX 3080;
# an H100 has about 3x its fp16 throughput, halved here for the text tower and data loading.
# llm: an 8B model on vLLM writes 5,800-8,000 output tokens/s on one H100, about 8-11 samples/s for
# recaption + instruct + judge (docs/llm.md); the low end.
ASSUMED_GPU_ITEMS_PER_S = {"clip_score": 2000.0, "llm": 8.0}

# Core-seconds per item of global stages at scale, from their benchmarks: on a small sample their
# time is mostly Ray's fixed cost of a shuffle, which says nothing about millions of items.
# dedup: `figcurate bench dedup`, 10^6 candidates in 86.9 s on 2 cores (docs/dedup.md).
GLOBAL_CORE_SECONDS_PER_ITEM = {"dedup": 2 * 86.9 / 1e6}


@dataclass
class StageCost:
    name: str
    unit: str
    rows_in: int
    rows_out: int
    seconds: float
    setup_seconds: float
    num_cpus: float
    gpu: bool
    measured: bool
    gpu_items_per_s: float | None = None
    note: str = ""


@dataclass
class Estimate:
    articles_total: int
    enumerated: int
    sample_articles: int
    stages: list[StageCost]
    samples_per_article: float
    shard_bytes_per_sample: float
    index_bytes_per_sample: float
    cpus: int
    gpus: int
    per_stage: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def spread_sample(articles: list[ArticleVersion], size: int) -> list[ArticleVersion]:
    """``size`` article versions evenly spread over the sorted list (old and new PMCIDs alike), deterministic."""
    if size >= len(articles):
        return list(articles)
    step = len(articles) / size
    return [articles[int(i * step)] for i in range(size)]


def live_rows(table: pa.Table) -> int:
    return table.column("drop_reason").null_count


def run_stage(planned: PlannedStage, table: pa.Table, context: StageContext, config: RunConfig) -> tuple[pa.Table, float, float]:
    """The stage's output for ``table``, its seconds of work, and its seconds of setup (model loading)."""
    try:
        if planned.stage.execution_for(planned.spec) == "global":
            return _run_global_stage(planned, table, context, config)
        started = time.perf_counter()
        worker = planned.stage(planned.spec, context)
        # what a worker loads on its first call (a tokenizer, a language model) is setup, paid once per worker
        worker.in_batches(table.slice(0, planned.spec.batch_size))
    except Exception as error:  # a model that cannot load here, a missing file: say which stage
        raise ValueError(f"stage {planned.name} cannot run on this machine ({type(error).__name__}: {str(error)[:300]})") from error
    setup = time.perf_counter() - started
    started = time.perf_counter()
    return worker.in_batches(table), time.perf_counter() - started, setup


def _run_global_stage(planned: PlannedStage, table: pa.Table, context: StageContext, config: RunConfig) -> tuple[pa.Table, float, float]:
    import ray
    import ray.data

    started = time.perf_counter()
    dataset = planned.stage.transform(ray.data.from_arrow(table), planned.spec, context, config=config, dedup_references=None)
    output = pa.concat_tables(ray.get(dataset.materialize().to_arrow_refs()))
    return output, time.perf_counter() - started, 0.0


def measure_sample(config: RunConfig, sample: list[ArticleVersion], context: StageContext, gpu_rates: dict[str, float]) -> tuple[list[StageCost], pa.Table]:
    gpu_here = _cuda_available()
    plan = planned_stages(config)
    if any(planned.stage.execution_for(planned.spec) == "global" for planned in plan):
        from pipeline.runner import init_ray

        init_ray(config.ray)  # started before any stage is timed
    table = source_table([WorkUnit(0, tuple(sample))])
    last_pixel_user = last_to_use_pixels(plan)
    costs = []
    for planned in plan:
        wants_gpu = planned.stage.gpus_per_worker(planned.spec) > 0
        rows_in = live_rows(table)
        if wants_gpu and not gpu_here:
            rate = gpu_rates.get(planned.name, ASSUMED_GPU_ITEMS_PER_S.get(planned.name))
            if rate is None:
                raise ValueError(f"stage {planned.name} wants a GPU and this machine has none: give its rate with --gpu-rate {planned.name}=ITEMS_PER_S")
            note = "not run here (no GPU); GPU time comes from the stated rate"
            # a score cut-off by rank keeps that share whatever the scores are; a fixed min_score cannot be foreseen
            fraction = getattr(planned.spec, "keep_top_fraction", None)
            kept = round(rows_in * fraction) if fraction else rows_in
            costs.append(StageCost(planned.name, planned.unit, rows_in, kept, 0.0, 0.0, planned.spec.num_cpus, True, False, rate, note))
            continue
        table, seconds, setup = run_stage(planned, table, context, config)
        if planned.name == last_pixel_user:
            table = without_pixels(table)
        rate = rows_in / seconds if wants_gpu and seconds > 0 else None
        cost = StageCost(planned.name, planned.unit, rows_in, live_rows(table), seconds, setup, planned.spec.num_cpus, wants_gpu, True, rate)
        if planned.name in GLOBAL_CORE_SECONDS_PER_ITEM:
            cost.setup_seconds, cost.seconds = seconds, rows_in * GLOBAL_CORE_SECONDS_PER_ITEM[planned.name] / planned.spec.num_cpus
            cost.measured, cost.note = False, "run here for its funnel; time per item from its benchmark at scale"
        elif planned.stage.execution_for(planned.spec) == "global":
            cost.note = "measured on the sample, Ray's fixed cost included: an over-estimate for small samples"
        costs.append(cost)
    return costs, table


def output_bytes(table: pa.Table) -> tuple[float, float]:
    """Shard and index bytes per sample of the sample's surviving records, written as a run writes them."""
    live = table.filter(pc.is_null(table.column("drop_reason")))
    if not live.num_rows:
        return 0.0, 0.0
    live = live.append_column("split", pa.array(["train"] * live.num_rows, pa.string()))
    with tempfile.TemporaryDirectory() as folder:
        shard = Path(folder) / "sample.tar"
        write_tar(shard, live.to_pylist())
        index = Path(folder) / "index.parquet"
        pq.write_table(index_part(live, "sample.tar"), index)
        return shard.stat().st_size / live.num_rows, index.stat().st_size / live.num_rows


def estimate(
    config: RunConfig,
    *,
    sample_size: int = 50,
    articles_total: int | None = None,
    cpus: int = 64,
    gpus: int = 1,
    gpu_rates: dict[str, float] | None = None,
) -> Estimate:
    enumerated = enumerate_source(config.source)
    if not enumerated:
        raise ValueError("the source holds no article versions to sample")
    sample = spread_sample(enumerated, sample_size)
    with tempfile.TemporaryDirectory() as scratch:
        context = stage_context(config.source).model_copy(update={"scratch_dir": scratch})
        costs, final = measure_sample(config, sample, context, gpu_rates or {})
    shard_per_sample, index_per_sample = output_bytes(final)
    result = Estimate(
        articles_total=articles_total or len(enumerated),
        enumerated=len(enumerated),
        sample_articles=len(sample),
        stages=costs,
        samples_per_article=costs[-1].rows_out / len(sample),
        shard_bytes_per_sample=shard_per_sample,
        index_bytes_per_sample=index_per_sample,
        cpus=cpus,
        gpus=gpus,
    )
    extrapolate(result)
    return result


def extrapolate(result: Estimate) -> None:
    """Scale the sample's per-article figures to the whole set and to the stated cluster."""
    scale = result.articles_total / result.sample_articles
    cpu_hours = gpu_hours = 0.0
    for cost in result.stages:
        row = {"stage": cost.name, "unit": cost.unit, "in": round(cost.rows_in * scale), "out": round(cost.rows_out * scale)}
        if cost.gpu:
            row["gpu_hours"] = cost.rows_in * scale / cost.gpu_items_per_s / 3600 if cost.gpu_items_per_s else 0.0
            row["gpu_items_per_s"] = cost.gpu_items_per_s
            gpu_hours += row["gpu_hours"]
        else:
            row["ms_per_item"] = 1000 * cost.seconds / cost.rows_in if cost.rows_in else 0.0
            row["core_hours"] = cost.seconds * cost.num_cpus * scale / 3600
            cpu_hours += row["core_hours"]
        row["measured"] = cost.measured
        result.per_stage.append(row)
    samples = result.samples_per_article * result.articles_total
    found = {}  # what the first stage of each unit makes: figures parsed, panels split
    for cost in result.stages:
        found.setdefault(cost.unit, cost.rows_out)
    result.totals = {
        "articles": result.articles_total,
        "figures": round(found.get("figure", 0) * scale),
        "panels": round(found.get("panel", 0) * scale),
        "samples": round(samples),
        "shard_gb": samples * result.shard_bytes_per_sample / 1e9,
        "index_gb": samples * result.index_bytes_per_sample / 1e9,
        "cpu_core_hours": cpu_hours,
        "gpu_hours": gpu_hours,
        # Stages stream side by side, so the slower of the two resources bounds the run.
        "wall_hours": max(cpu_hours / result.cpus, gpu_hours / result.gpus if result.gpus else 0.0),
    }


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def render(result: Estimate) -> str:
    totals = result.totals
    lines = [
        f"plan: {result.articles_total:,} article versions"
        + (f" (given; the source lists {result.enumerated:,})" if result.articles_total != result.enumerated else "")
        + f", costs measured on {result.sample_articles} of them on this machine",
        "",
        f"  {'stage':<16}{'unit':<9}{'in':>13}{'out':>13}  cost",
    ]
    for row in result.per_stage:
        if "gpu_hours" in row:
            cost = f"{row['gpu_hours']:.1f} GPU-h at {row['gpu_items_per_s']:,.0f} items/s per GPU" + ("" if row["measured"] else " (stated rate, not measured here)")
        else:
            cost = f"{row['core_hours']:.1f} core-h ({row['ms_per_item']:.2f} ms per item in)" + ("" if row["measured"] else " (from its benchmark)")
        lines.append(f"  {row['stage']:<16}{row['unit']:<9}{row['in']:>13,}{row['out']:>13,}  {cost}")
    lines += [
        "",
        f"  figures {totals['figures']:,}, panels {totals['panels']:,}, samples {totals['samples']:,} ({result.samples_per_article:.2f} per article)",
        f"  output: {totals['shard_gb']:.1f} GB of shards ({result.shard_bytes_per_sample / 1e3:.0f} kB per sample), {totals['index_gb']:.2f} GB of index",
        f"  compute: {totals['cpu_core_hours']:,.0f} CPU core-hours, {totals['gpu_hours']:,.1f} GPU-hours",
        (
            f"  on {result.cpus} CPUs and {result.gpus} GPUs: about {totals['wall_hours']:.1f} h of wall time"
            " (the slower resource bounds it; fetch latency from S3 and model loading not included)"
        ),
    ]
    return "\n".join(lines)
