"""From a validated config to a chain of Ray Data operations.

The flow order is fixed here; a stage the config disables is absent from the chain, not a no-op.
Resources come from each stage's spec, never from the machine that builds the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import ray.data

from pipeline.config import RunConfig
from pipeline.flow import FLOW, STAGES
from pipeline.units import WorkUnit
from schemas.records import ARTICLE
from stages.images.pixels import without_pixels
from stages.io.shard_writer import write_unit
from stages.runtime.base import Stage, StageSpec
from stages.runtime.context import StageContext


@dataclass(frozen=True)
class PlannedStage:
    name: str
    unit: str
    stage: type[Stage]
    spec: StageSpec


def planned_stages(config: RunConfig) -> list[PlannedStage]:
    missing = {name for name, stage in STAGES.items() if stage.configurable} - {name for name, _ in FLOW}
    if missing:
        raise RuntimeError(f"stages listed in pipeline/flow.py but not placed in its FLOW: {sorted(missing)}")
    plan = []
    for name, unit in FLOW:
        spec = config.stage_spec(name)
        if spec.enabled:
            for helper, helper_spec in STAGES[name].companions(spec):
                if helper not in {planned.name for planned in plan}:  # shared by two stages: planned once
                    plan.append(PlannedStage(helper, unit, STAGES[helper], helper_spec))
            plan.append(PlannedStage(name, unit, STAGES[name], spec))
    return plan


def source_table(units: list[WorkUnit]) -> pa.Table:
    """One row per article version of the given work units, tagged with its unit."""
    return pa.Table.from_pylist(
        [{"pmcid": a.pmcid, "version": a.version, "work_unit": unit.index, "source_prefix": a.prefix} for unit in units for a in unit.articles],
        schema=ARTICLE,
    )


_WORKERS: dict[tuple[str, str, str], Stage] = {}


def run_stage_task(batch: pa.Table, *, stage_name: str, spec: StageSpec, context: StageContext) -> pa.Table:
    """Task-mode entry point: the stage callable is built once per worker process and reused."""
    key = (stage_name, spec.model_dump_json(), context.model_dump_json())
    worker = _WORKERS.get(key)
    if worker is None:
        if len(_WORKERS) >= 16:  # a long-lived worker serving many runs
            _WORKERS.clear()
        worker = _WORKERS[key] = STAGES[stage_name](spec, context)
    return worker(batch)


def build_records(
    config: RunConfig,
    units: list[WorkUnit],
    context: StageContext,
    *,
    stop_after: str | None = None,
    blocks_per_unit: int = 4,
    dedup_references: pa.Table | None = None,
) -> ray.data.Dataset:
    """The records of these units through the planned stages (up to ``stop_after`` when given).

    ``dedup_references`` are the hashes of finished work units' samples (``hashes/`` parts of a
    resumed run), which the dedup stage weighs against without deciding on them again.
    """
    table = source_table(units)
    block_rows = max(1, config.output.articles_per_shard // blocks_per_unit)
    blocks = [table.slice(start, block_rows) for start in range(0, table.num_rows, block_rows)] or [table]
    dataset = ray.data.from_arrow(blocks)
    plan = planned_stages(config)
    last_pixel_user = last_to_use_pixels(plan)
    for planned in plan:
        if planned.stage.execution_for(planned.spec) == "global":
            dataset = planned.stage.transform(dataset, planned.spec, context, config=config, dedup_references=dedup_references)
        else:
            dataset = apply_stage(dataset, planned, context)
        if planned.name == last_pixel_user:
            # same resources as the stage before it, so Ray fuses the step into that stage's task
            dataset = dataset.map_batches(without_pixels, batch_format="pyarrow", num_cpus=planned.spec.num_cpus, concurrency=planned.spec.concurrency)
        if planned.name == stop_after:
            break
    return dataset


def last_to_use_pixels(plan: list[PlannedStage]) -> str | None:
    """The planned stage after which no stage reads the carried ``pixels`` (stages/images/pixels.py)."""
    users = [planned.name for planned in plan if planned.stage.uses_pixels]
    return users[-1] if users else None


def build_dataset(
    config: RunConfig, units: list[WorkUnit], context: StageContext, fingerprint: str, dedup_references: pa.Table | None = None
) -> ray.data.Dataset:
    """The whole run for these units, ending in the shard writer (one summary row per unit)."""
    dataset = build_records(config, units, context, dedup_references=dedup_references)
    stage_units = [(p.name, p.unit) for p in planned_stages(config)]
    # One shuffle partition per unit up to a cap: Ray's default (200) is wasteful for small runs.
    return dataset.groupby("work_unit", num_partitions=min(len(units), 256)).map_groups(
        write_unit,
        batch_format="pyarrow",
        fn_kwargs={
            "output": config.output.target(),
            "stage_units": stage_units,
            "fingerprint": fingerprint,
            "splits": dict(config.output.splits),
        },
    )


def _no_extra_remote_args() -> dict:
    return {}


def apply_stage(dataset: ray.data.Dataset, planned: PlannedStage, context: StageContext) -> ray.data.Dataset:
    spec = planned.spec
    common = {
        "batch_format": "pyarrow",
        "batch_size": spec.batch_size,
        "num_cpus": spec.num_cpus,
        "num_gpus": spec.num_gpus or None,
    }
    if planned.stage.execution_for(spec) == "actor":
        return dataset.map_batches(
            planned.stage,
            fn_constructor_kwargs={"spec": spec, "context": context},
            compute=ray.data.ActorPoolStrategy(size=spec.concurrency or 1),
            # Ray fuses CPU task stages into a following actor stage when their resources match,
            # which would run fetching and decoding inside the (GPU) model actors. Ray never fuses
            # an operator that has a ray_remote_args_fn, so giving one keeps the model actor alone.
            ray_remote_args_fn=_no_extra_remote_args,
            **common,
        )
    return dataset.map_batches(
        run_stage_task,
        fn_kwargs={"stage_name": planned.name, "spec": spec, "context": context},
        concurrency=spec.concurrency,
        **common,
    )
