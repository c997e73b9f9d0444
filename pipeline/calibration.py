"""The cut-off for ``clip_score.keep_top_fraction``: score a spread of work units first, then keep
the pairs at or above the score that leaves that share of them.

Scoring every unit (``calibration_units: null``) makes the share exact, at the cost of a second
pass up to the CLIP stage; a few units spread over the run give an estimate for a fraction of the
cost. The cut-off is stored in ``run.json`` so that a resumed run applies the same one.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray

from pipeline.config import RunConfig
from pipeline.plan import build_records
from pipeline.units import WorkUnit
from stages.runtime.context import StageContext


def cutoff_for_top_fraction(scores: np.ndarray, fraction: float) -> float:
    """The largest cut-off that keeps ``ceil(fraction * n)`` of ``scores`` (all tied scores at the cut stay)."""
    if len(scores) == 0:
        return -1.0
    keep = max(1, math.ceil(fraction * len(scores)))
    return float(np.sort(scores)[::-1][keep - 1])


def calibration_units(units: list[WorkUnit], count: int | None) -> list[WorkUnit]:
    if count is None or count >= len(units):
        return units
    step = len(units) / count
    return [units[int(i * step)] for i in range(count)]


def calibrate_clip_cutoff(config: RunConfig, units: list[WorkUnit], context: StageContext) -> dict:
    spec = config.stage_spec("clip_score")
    chosen = calibration_units(units, spec.calibration_units)
    records = build_records(config, chosen, context, stop_after="clip_score").select_columns(["clip_score", "drop_reason"])
    table = _collect(records)
    live = table.filter(pc.is_null(table.column("drop_reason")))
    scores = live.column("clip_score").to_numpy(zero_copy_only=False).astype(np.float64)
    cutoff = cutoff_for_top_fraction(scores, spec.keep_top_fraction)
    return {
        "keep_top_fraction": spec.keep_top_fraction,
        "cutoff": cutoff,
        "calibration_units": len(chosen),
        "calibration_samples": int(len(scores)),
        "exact": len(chosen) == len(units),
    }


def _collect(dataset) -> pa.Table:
    tables = [t for t in ray.get(dataset.to_arrow_refs()) if t.num_rows]
    return pa.concat_tables(tables) if tables else pa.table({"clip_score": pa.array([], pa.float32()), "drop_reason": pa.array([], pa.string())})
