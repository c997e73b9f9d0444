"""From a validated config to a chain of Ray Data operations.

The flow order is fixed here; a stage the config disables is absent from the chain, not a no-op.
Resources come from each stage's spec, never from the machine that builds the plan.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyarrow as pa
import ray.data

from pipeline.config import RunConfig
from schemas.records import ARTICLE
from stages.base import Stage, StageSpec
from stages.context import StageContext
from stages.registry import load_all
from stages.shard_writer import write_unit
from stages.source_local import ArticleVersion

# (stage name, the unit its output is counted in), in the order records flow.
FLOW: list[tuple[str, str]] = [
    ("fetch", "article"),
    ("parse_jats", "figure"),
    ("fetch_media", "figure"),
    ("images", "figure"),
    ("subfigures", "figure"),
    ("subcaptions", "panel"),
]


@dataclass(frozen=True)
class PlannedStage:
    name: str
    unit: str
    stage: type[Stage]
    spec: StageSpec


def planned_stages(config: RunConfig) -> list[PlannedStage]:
    registry = load_all()
    missing = set(registry) - {name for name, _ in FLOW}
    if missing:
        raise RuntimeError(f"registered stages not placed in the flow: {sorted(missing)}")
    plan = []
    for name, unit in FLOW:
        spec = config.stage_spec(name)
        if spec.enabled:
            plan.append(PlannedStage(name, unit, registry[name], spec))
    return plan


def source_table(articles: list[ArticleVersion], articles_per_unit: int) -> pa.Table:
    """One row per article version, each assigned to a deterministic work unit by position."""
    return pa.Table.from_pylist(
        [
            {"pmcid": a.pmcid, "version": a.version, "work_unit": position // articles_per_unit, "source_prefix": a.prefix}
            for position, a in enumerate(articles)
        ],
        schema=ARTICLE,
    )


@functools.lru_cache(maxsize=8)
def _worker(stage_name: str, spec: StageSpec, context: StageContext) -> Stage:
    return load_all()[stage_name](spec, context)


def run_stage_task(batch: pa.Table, *, stage_name: str, spec: StageSpec, context: StageContext) -> pa.Table:
    """Task-mode entry point: the stage callable is built once per worker process and reused."""
    return _worker(stage_name, spec, context)(batch)


def build_dataset(config: RunConfig, articles: list[ArticleVersion], context: StageContext, *, blocks_per_unit: int = 4) -> ray.data.Dataset:
    table = source_table(articles, config.output.articles_per_shard)
    block_rows = max(1, config.output.articles_per_shard // blocks_per_unit)
    blocks = [table.slice(start, block_rows) for start in range(0, table.num_rows, block_rows)] or [table]
    dataset = ray.data.from_arrow(blocks)
    for planned in planned_stages(config):
        dataset = apply_stage(dataset, planned, context)
    stage_units = [(p.name, p.unit) for p in planned_stages(config)]
    n_units = int(table.column("work_unit")[-1].as_py()) + 1
    # One shuffle partition per unit up to a cap: Ray's default (200) is wasteful for small runs.
    return dataset.groupby("work_unit", num_partitions=min(n_units, 256)).map_groups(
        write_unit,
        batch_format="pyarrow",
        fn_kwargs={"output_dir": str(config.output.path.resolve()), "stage_units": stage_units},
    )


def apply_stage(dataset: ray.data.Dataset, planned: PlannedStage, context: StageContext) -> ray.data.Dataset:
    spec = planned.spec
    common = {
        "batch_format": "pyarrow",
        "batch_size": spec.batch_size,
        "num_cpus": spec.num_cpus,
        "num_gpus": spec.num_gpus or None,
    }
    if planned.stage.execution == "actor":
        return dataset.map_batches(
            planned.stage,
            fn_constructor_kwargs={"spec": spec, "context": context},
            compute=ray.data.ActorPoolStrategy(size=spec.concurrency or 1),
            **common,
        )
    return dataset.map_batches(
        run_stage_task,
        fn_kwargs={"stage_name": planned.name, "spec": spec, "context": context},
        concurrency=spec.concurrency,
        **common,
    )
