"""Per-stage counters through Ray's metrics API, so Prometheus and the Ray dashboard show a run's funnel live.

Every stage batch adds the live rows it took in, the live rows it let out, and its drops by reason.
Ray exports them as ``ray_figcurate_stage_rows_in_total{stage=...}``,
``ray_figcurate_stage_rows_out_total{stage=...}`` and
``ray_figcurate_stage_drops_total{stage=...,reason=...}`` on each node's metrics port. Counts are
of rows (articles, figures or panels, whatever unit the stage works in, as in ``stats.json``), and
a retried task counts its batch again; the durable numbers stay in the unit records.
"""

from __future__ import annotations

from collections import Counter as Tally
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

PREFIX = "figcurate_stage"


@cache
def _counters():
    """Built once per worker process; None where metrics cannot be recorded (no Ray, or Ray without its metrics agent)."""
    try:
        import ray
        from ray.util.metrics import Counter

        if not ray.is_initialized():
            return None
        return (
            Counter(f"{PREFIX}_rows_in", description="live rows a figcurate stage took in", tag_keys=("stage",)),
            Counter(f"{PREFIX}_rows_out", description="live rows a figcurate stage let out", tag_keys=("stage",)),
            Counter(f"{PREFIX}_drops", description="rows a figcurate stage dropped, by reason", tag_keys=("stage", "reason")),
        )
    except Exception:  # noqa: BLE001 - metrics are an aid; a run never fails for them
        return None


def batch_counts(processed: pa.Table) -> tuple[int, dict[str, int]]:
    """Live rows out of a stage's processed rows, and the rows it dropped by reason."""
    reasons = processed.column("drop_reason")
    dropped = Tally(reason for reason in pc.drop_null(reasons).to_pylist())
    return processed.num_rows - sum(dropped.values()), dict(dropped)


def record_batch(stage: str, live_in: int, processed: pa.Table) -> None:
    counters = _counters()
    if counters is None:
        return
    rows_in, rows_out, drops = counters
    live_out, dropped = batch_counts(processed)
    tags = {"stage": stage}
    try:
        if live_in:
            rows_in.inc(live_in, tags=tags)
        if live_out:
            rows_out.inc(live_out, tags=tags)
        for reason, n in dropped.items():
            drops.inc(n, tags={"stage": stage, "reason": reason})
    except Exception:  # noqa: BLE001 - as above
        return
