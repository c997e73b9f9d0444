"""The stage contract: a picklable spec of parameters and resources, and a per-worker callable.

A stage's callable takes a ``pyarrow.Table`` batch and returns one (the project's single batch
format). Rows already dropped upstream pass through untouched; each live row goes through
``process`` inside its own try, so one bad record becomes a reject with a reason from
``schemas.drop_reasons`` and never fails the batch. The output is conformed to the stage's
declared schema, so every batch at a boundary has the same columns and types.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from schemas.drop_reasons import check_reason
from schemas.keys import article_key
from schemas.records import conform
from stages.runtime.carried import CARRIED, rows_with_views, table_with_carried
from stages.runtime.context import StageContext
from stages.runtime.crash_guard import CrashGuard
from stages.runtime.metrics import record_batch

Row = dict[str, Any]
# What ``record_key`` names a record by: every projection of a row keeps them.
IDENTITY = ("sample_key", "pmcid", "version")


class StageSpec(BaseModel):
    """Parameters and resource defaults of one stage, as written under ``stages.<name>`` in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="false removes the stage from the plan (when the stage is optional)")
    num_cpus: float = Field(1.0, gt=0, description="CPUs reserved per task or actor")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor (fractions allowed)")
    batch_size: int = Field(16, ge=1, description="rows per batch handed to the callable")
    concurrency: int | None = Field(None, ge=1, description="max parallel tasks, or actor pool size; null lets Ray decide")


class Drop(Exception):
    """Raised inside ``Stage.process`` to reject the record being processed."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = check_reason(reason)
        self.detail = detail


class Stage:
    """Base of every stage's per-worker callable. Subclasses set the class attributes and ``process``."""

    name: ClassVar[str]
    spec_type: ClassVar[type[StageSpec]] = StageSpec
    # None: the stage passes records through with the columns they arrive with.
    output_schema: ClassVar[pa.Schema | None]
    # "task" stages run as Ray tasks; "actor" stages keep state (models) in an actor pool; a "global"
    # stage needs the whole run at once and gets the dataset itself (its ``transform`` classmethod).
    execution: ClassVar[Literal["task", "actor", "global"]] = "task"
    optional: ClassVar[bool] = False
    # False for helper stages that the plan inserts on behalf of another stage (no config entry).
    configurable: ClassVar[bool] = True
    # True for the stages that make or read the carried ``pixels`` column (stages/images/pixels.py): the
    # plan drops the column after the last of them.
    uses_pixels: ClassVar[bool] = False
    # The columns ``process`` reads, for a stage that turns every row into exactly one (the row with
    # columns added, or its drop) and changes none of these: only they become Python values, and the
    # batch, the rest of it left in Arrow, takes the columns ``process`` adds. None: whole rows.
    reads: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def execution_for(cls, spec: StageSpec) -> str:
        """How the plan runs this stage with ``spec`` (a stage whose backends differ overrides it)."""
        return cls.execution

    @classmethod
    def gpus_per_worker(cls, spec: StageSpec) -> float:
        """GPUs one worker of this stage holds with ``spec`` (a stage whose engines take GPUs themselves overrides it)."""
        return spec.num_gpus

    @classmethod
    def companions(cls, spec: StageSpec) -> list[tuple[str, StageSpec]]:
        """Helper stages to run right before this one, with their specs derived from ``spec``."""
        return []

    def __init__(self, spec: StageSpec, context: StageContext):
        self.spec = spec
        self.context = context
        self.guard = (
            CrashGuard(Path(context.scratch_dir) / "crash_guard" / self.name, context.max_worker_crashes)
            if context.scratch_dir
            else None
        )

    def process(self, row: Row) -> Iterable[Row]:
        """Turn one live input row into output rows (at least one: outputs or ``self.dropped``)."""
        raise NotImplementedError

    def dropped(self, row: Row, reason: str, detail: str = "") -> Row:
        """A reject derived from ``row``: its identity kept, the drop columns set."""
        return {**row, "drop_stage": self.name, "drop_reason": check_reason(reason), "drop_detail": detail[:2000]}

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.guard is not None:
            self.guard.reap()
        schema = self.output_schema or batch.schema
        if batch.column("drop_reason").null_count == batch.num_rows:
            # every row live, the usual batch: no filtered copy of it (the carried pixels are most of its bytes)
            processed = self.process_live(batch, schema)
            record_batch(self.name, batch.num_rows, processed)
            return processed
        live_mask = pc.is_null(batch.column("drop_reason"))
        passed_through = conform(batch.filter(pc.invert(live_mask)), schema)
        live = batch.filter(live_mask)
        processed = self.process_live(live, schema)
        record_batch(self.name, live.num_rows, processed)
        return pa.concat_tables([processed, passed_through])

    def in_batches(self, table: pa.Table) -> pa.Table:
        """The stage over a table of any length, ``spec.batch_size`` rows a call, as a run hands them."""
        size = self.spec.batch_size
        parts = [self(table.slice(start, size)) for start in range(0, table.num_rows, size)]
        return pa.concat_tables(parts) if parts else table

    def process_live(self, live: pa.Table, schema: pa.Schema) -> pa.Table:
        """The outputs of a batch's live rows, in ``schema``: each row through ``process`` (a stage
        whose work is columnar overrides this and keeps its rows in Arrow)."""
        if self.reads is not None:
            return self._process_read_columns(live, schema)
        carries = CARRIED in live.column_names and CARRIED in schema.names
        rows, views = rows_with_views(live) if carries else (live.to_pylist(), [])
        out_rows = list(self._process_all(rows))
        if not out_rows:
            return schema.empty_table()
        return table_with_carried(out_rows, schema, live.column(CARRIED), views) if carries else pa.Table.from_pylist(out_rows, schema=schema)

    def _process_read_columns(self, live: pa.Table, schema: pa.Schema) -> pa.Table:
        """``process`` on the ``reads`` columns of each row (and its identity), the columns it adds set on ``live``."""
        names = [name for name in dict.fromkeys((*self.reads, *IDENTITY)) if name in live.column_names]
        part = live.select(names)
        rows = rows_with_views(part)[0] if CARRIED in names else part.to_pylist()
        outputs = list(self._process_all(rows))
        if len(outputs) != len(rows):
            raise RuntimeError(f"stage {self.name} reads columns, so it must give one row for each row; it gave {len(outputs)} for {len(rows)}")
        added = [name for name in schema.names if name not in names and any(name in row for row in outputs)]
        values = pa.Table.from_pylist(outputs, schema=pa.schema([schema.field(name) for name in added]))
        table = live
        for name in added:
            index, field, column = table.schema.get_field_index(name), schema.field(name), values.column(name)
            if index < 0:
                table = table.append_column(field, column)
                continue
            given = pa.array([name in row for row in outputs], pa.bool_())
            if given.false_count:  # a row that does not set the column keeps what it had (a drop keeps the row's values)
                column = pc.if_else(given, column, table.column(index).cast(field.type))
            table = table.set_column(index, field, column)
        return conform(table, schema)

    def _process_all(self, rows: list[Row]) -> Iterator[Row]:
        for row in rows:
            key = record_key(row)
            if self.guard is not None:
                if self.guard.is_quarantined(key):
                    crashes = self.guard.crashes(key)
                    yield self.dropped(row, "worker_crash", f"{self.name} died {crashes} times on this record; quarantined")
                    continue
                self.guard.begin(key)
            try:
                outputs = list(self.process(row))
                if not outputs:
                    outputs = [self.dropped(row, "stage_error", "stage produced no output for this record")]
            except Drop as drop:
                outputs = [self.dropped(row, drop.reason, drop.detail)]
            except Exception as error:  # noqa: BLE001 - a bad record must never kill the run
                tail = "".join(traceback.format_exception(error)[-3:])
                outputs = [self.dropped(row, "stage_error", f"{type(error).__name__}: {error}\n{tail}")]
            if self.guard is not None:
                self.guard.end()
            yield from outputs


def record_key(row: Row) -> str:
    """The most specific identity of a record: its sample key, else its article key."""
    return row.get("sample_key") or article_key(row["pmcid"], row["version"])
