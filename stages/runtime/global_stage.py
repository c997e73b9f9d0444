"""Stages that need the whole run before they can decide for any record (dedup, decontamination).

The plan calls ``transform(dataset, spec, context, config=..., dedup_references=...)`` instead of
mapping batches. A global stage prepares one value on the driver (dedup's decisions, an
evaluation-set index) and hands it to ``mark``, which processes every batch with a stage built
around that value. The value travels through the object store once (``stages/runtime/broadcast.py``);
``unpack`` is what each worker makes of it, once.
"""

from __future__ import annotations

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
    def transform(cls, dataset: ray.data.Dataset, spec: StageSpec, context: StageContext, *, config, dedup_references: pa.Table | None) -> ray.data.Dataset:
        raise NotImplementedError

    @classmethod
    def unpack(cls, value: Any) -> Any:
        return value

    @classmethod
    def mark(cls, dataset: ray.data.Dataset, spec: StageSpec, context: StageContext, value: Any) -> ray.data.Dataset:
        return dataset.map_batches(
            _process_batch,
            batch_format="pyarrow",
            batch_size=None,  # whole blocks; the stage takes them ``batch_size`` rows a call
            num_cpus=spec.num_cpus,
            fn_kwargs={"stage_type": cls, "spec": spec, "context": context, "value": share(value)},
        )


def _process_batch(batch: pa.Table, *, stage_type: type[GlobalStage], spec: StageSpec, context: StageContext, value: list) -> pa.Table:
    return stage_type(spec, context, shared(value, stage_type.unpack)).in_batches(batch)
