"""Stages that need the whole run before they can decide for any record (dedup, decontamination).

The plan calls ``transform(dataset, spec, context, config=..., dedup_references=...)`` instead of
mapping batches: a global stage decides one value on the driver (dedup's decisions, an
evaluation-set index), and its ``marker`` processes every batch with a stage built around that
value. ``mark`` maps the marker over the dataset (``transform`` is ``decide`` then ``mark``);
where the global stage ends the plan, the unit writers apply it to each unit's rows instead
(``pipeline/unit_writes.py``), which saves a pass and a copy of the window's records. The value travels through the object store once
(``stages/runtime/broadcast.py``); ``unpack`` is what each worker makes of it, once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
import ray.data

from stages.runtime.base import Stage, StageSpec
from stages.runtime.broadcast import share, shared
from stages.runtime.context import StageContext


class GlobalStage(Stage):
    execution = "global"
    optional = True

    def __init__(self, spec: StageSpec, context: StageContext, value: Any):
        super().__init__(spec, context)
        self.value = value

    @classmethod
    def decide(
        cls, dataset: ray.data.Dataset, spec: StageSpec, context: StageContext, *, config, dedup_references: pa.Table | None
    ) -> tuple[ray.data.Dataset, Any]:
        """The records to mark (``dataset``, or what it was materialised into) and the value to mark them by."""
        raise NotImplementedError

    @classmethod
    def transform(cls, dataset: ray.data.Dataset, spec: StageSpec, context: StageContext, *, config, dedup_references: pa.Table | None) -> ray.data.Dataset:
        records, value = cls.decide(dataset, spec, context, config=config, dedup_references=dedup_references)
        return cls.mark(records, spec, context, value)

    @classmethod
    def unpack(cls, value: Any) -> Any:
        return value

    @classmethod
    def marker(cls, spec: StageSpec, context: StageContext, value: Any) -> Callable[[pa.Table], pa.Table]:
        """The stage around ``value`` as a function of a table (any length), to run in any worker."""
        return partial(_process_batch, stage_type=cls, spec=spec, context=context, value=share(value))

    @classmethod
    def mark(cls, dataset: ray.data.Dataset, spec: StageSpec, context: StageContext, value: Any) -> ray.data.Dataset:
        # whole blocks; the stage takes them ``batch_size`` rows a call
        return dataset.map_batches(cls.marker(spec, context, value), batch_format="pyarrow", batch_size=None, num_cpus=spec.num_cpus)


def _process_batch(batch: pa.Table, *, stage_type: type[GlobalStage], spec: StageSpec, context: StageContext, value: list) -> pa.Table:
    return stage_type(spec, context, shared(value, stage_type.unpack)).in_batches(batch)
