"""From a validated config to a chain of Ray Data operations.

The flow order is fixed here; a stage the config disables is absent from the chain, not a no-op.
Resources come from each stage's spec, never from the machine that builds the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import ray
import ray.data

from pipeline.config import RunConfig
from pipeline.flow import FLOW, STAGES
from pipeline.unit_writes import write_units
from pipeline.units import WorkUnit
from schemas.records import ARTICLE
from stages.images.pixels import without_pixels
from stages.runtime.base import Stage, StageSpec
from stages.runtime.context import StageContext
from stages.runtime.global_stage import GlobalStage


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


def stage_worker(stage_name: str, spec: StageSpec, context: StageContext) -> Stage:
    """The stage callable, built once per worker process and reused by every task it runs."""
    key = (stage_name, spec.model_dump_json(), context.model_dump_json())
    worker = _WORKERS.get(key)
    if worker is None:
        if len(_WORKERS) >= 32:  # a long-lived worker serving many runs
            _WORKERS.clear()
        worker = _WORKERS[key] = STAGES[stage_name](spec, context)
    return worker


def run_chain_task(block: pa.Table, *, links: list[tuple[str, StageSpec]], context: StageContext, drop_pixels_after: str | None) -> pa.Table:
    """Task-mode entry point: a block through consecutive task stages in one worker, each stage
    taking ``batch_size`` rows a call, with no re-batching in between."""
    for stage_name, spec in links:
        block = stage_worker(stage_name, spec, context).in_batches(block)
        if stage_name == drop_pixels_after:
            block = without_pixels(block)
    # one chunk a column, as Ray's own batching would leave it, not one per stage call: every later
    # pass over the stored block (dedup's candidates and marks, the unit writers) pays per chunk
    return block.combine_chunks()


def build_records(
    config: RunConfig,
    units: list[WorkUnit],
    context: StageContext,
    *,
    stop_after: str | None = None,
    dedup_references: pa.Table | None = None,
) -> ray.data.Dataset:
    """The records of these units through the planned stages (up to ``stop_after`` when given).

    ``dedup_references`` are the hashes of finished work units' samples (``hashes/`` parts of a
    resumed run), which the dedup stage weighs against without deciding on them again.
    """
    records, _ = records_and_finish(config, units, context, stop_after, dedup_references, defer_last_global=False)
    return records


def records_and_finish(
    config: RunConfig,
    units: list[WorkUnit],
    context: StageContext,
    stop_after: str | None,
    dedup_references: pa.Table | None,
    *,
    defer_last_global: bool,
) -> tuple[ray.data.Dataset, Callable[[pa.Table], pa.Table] | None]:
    """The records through the planned stages; with ``defer_last_global``, a global stage that ends
    the plan only decides, and its marker comes back for the unit writers to apply (no pass of its own)."""
    table = source_table(units)
    size = block_rows(table.num_rows, config.ray.block_articles, _cluster_cpus())
    blocks = [table.slice(start, size) for start in range(0, table.num_rows, size)] or [table]
    dataset = ray.data.from_arrow(blocks)
    plan = planned_stages(config)
    last_pixel_user = last_to_use_pixels(plan)
    if stop_after is not None:
        plan = plan[: [planned.name for planned in plan].index(stop_after) + 1]
    steps = chains(plan)
    finish = None
    for number, chain in enumerate(steps, 1):
        first = chain[0]
        execution = first.stage.execution_for(first.spec)
        if execution == "global":
            stage, spec = first.stage, first.spec
            if defer_last_global and number == len(steps) and issubclass(stage, GlobalStage):
                dataset, value = stage.decide(dataset, spec, context, config=config, dedup_references=dedup_references)
                finish = stage.marker(spec, context, value)
            else:  # any dataset transform (the llm stage's on a server is one)
                dataset = stage.transform(dataset, spec, context, config=config, dedup_references=dedup_references)
        elif execution == "actor":
            dataset = apply_stage(dataset, first, context)
        else:
            dataset = apply_chain(dataset, chain, context, last_pixel_user)
    return dataset, finish


def block_rows(articles: int, most: int, cpus: int) -> int:
    """Article versions a block holds: ``most`` (``ray.block_articles``), or fewer where the window is
    small, so that every CPU has at least two blocks to work on."""
    return max(1, min(most, -(-articles // (2 * max(1, cpus)))))


def _cluster_cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1


def chains(plan: list[PlannedStage]) -> list[list[PlannedStage]]:
    """The plan cut into steps: runs of consecutive task stages with the same resources (one Ray
    task takes a block through all of them), and each actor or global stage alone."""
    steps: list[list[PlannedStage]] = []
    for planned in plan:
        previous = steps[-1][-1] if steps else None
        if previous is not None and _is_task(planned) and _is_task(previous) and _resources(planned) == _resources(previous):
            steps[-1].append(planned)
        else:
            steps.append([planned])
    return steps


def _is_task(planned: PlannedStage) -> bool:
    return planned.stage.execution_for(planned.spec) == "task"


def _resources(planned: PlannedStage) -> tuple:
    return planned.spec.num_cpus, planned.spec.num_gpus, planned.spec.concurrency


def last_to_use_pixels(plan: list[PlannedStage]) -> str | None:
    """The planned stage after which no stage reads the carried ``pixels`` (stages/images/pixels.py)."""
    users = [planned.name for planned in plan if planned.stage.uses_pixels]
    return users[-1] if users else None


def write_window(
    config: RunConfig, units: list[WorkUnit], context: StageContext, fingerprint: str, dedup_references: pa.Table | None = None
) -> Iterator[dict]:
    """The whole run for these units, ending in their writers: yields each unit's summary row."""
    records, finish = records_and_finish(config, units, context, None, dedup_references, defer_last_global=True)
    return write_units(
        records,
        finish=finish,
        output=config.output.target(),
        stage_units=[(p.name, p.unit) for p in planned_stages(config)],
        fingerprint=fingerprint,
        splits=dict(config.output.splits),
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
    return apply_chain(dataset, [planned], context, None)


def apply_chain(dataset: ray.data.Dataset, chain: list[PlannedStage], context: StageContext, last_pixel_user: str | None) -> ray.data.Dataset:
    """One map over whole blocks (``batch_size=None``): Ray re-batches only where it must."""
    first = chain[0]
    return dataset.map_batches(
        run_chain_task,
        fn_kwargs={"links": [(p.name, p.spec) for p in chain], "context": context, "drop_pixels_after": last_pixel_user},
        batch_format="pyarrow",
        batch_size=None,
        num_cpus=first.spec.num_cpus,
        num_gpus=first.spec.num_gpus or None,
        concurrency=first.spec.concurrency,
    )
