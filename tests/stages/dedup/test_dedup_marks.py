"""The dedup stage's marks, made in columns: what each kind of row becomes."""

import pyarrow as pa
from builders import context, figure_row

from schemas.records import CURATED
from stages.dedup.rules import DECISION
from stages.dedup.stage import Dedup, DedupSpec


def curated(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=CURATED)


def rows() -> list[dict]:
    hashed = {"pixel_sha256": "ab", "phash": 7, "phash_probes": [7]}
    return [
        figure_row(1, **hashed),  # an exact copy's loser
        figure_row(2, **hashed),  # a near copy's loser
        figure_row(3, **hashed),  # no decision: kept
        figure_row(4),  # no hashes (not considered): passes as it is
        figure_row(5, **hashed, drop_stage="filters", drop_reason="too_small", drop_detail="12 px"),  # dropped before
    ]


def decisions() -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"sample_key": "PMC1v1-f001", "reason": "duplicate_exact", "winner_key": "PMC0v1-f009", "distance": 0},
            {"sample_key": "PMC1v1-f002", "reason": "duplicate_near", "winner_key": "PMC0v1-f003", "distance": 3},
            {"sample_key": "PMC7v1-f001", "reason": "duplicate_near", "winner_key": "PMC0v1-f001", "distance": 2},  # not in the batch
        ],
        schema=DECISION,
    )


def marks(table: pa.Table) -> dict:
    return {
        row["sample_key"]: (row["dedup_status"], row["drop_stage"], row["drop_reason"], row["drop_detail"])
        for row in table.select(["sample_key", "dedup_status", "drop_stage", "drop_reason", "drop_detail"]).to_pylist()
    }


def test_each_row_takes_its_decision_by_key():
    batch = curated(rows())
    assert batch.column("sample_key").to_pylist()[:2] == ["PMC1v1-f001", "PMC1v1-f002"]
    out = Dedup(DedupSpec(), context(), Dedup.unpack(decisions()))(batch)
    assert out.schema == CURATED and out.num_rows == 5
    assert marks(out) == {
        "PMC1v1-f001": ("duplicate_exact", "dedup", "duplicate_exact", "same pixels as PMC0v1-f009"),
        "PMC1v1-f002": ("duplicate_near", "dedup", "duplicate_near", "3 bits from PMC0v1-f003"),
        "PMC1v1-f003": ("kept", None, None, None),
        "PMC1v1-f004": (None, None, None, None),
        "PMC1v1-f005": (None, "filters", "too_small", "12 px"),
    }
    # every other column passes untouched
    untouched = [name for name in CURATED.names if name not in {"dedup_status", "drop_stage", "drop_reason", "drop_detail"}]
    by_key = {row["sample_key"]: row for row in out.select(untouched).to_pylist()}
    assert [by_key[row["sample_key"]] for row in batch.select(untouched).to_pylist()] == batch.select(untouched).to_pylist()


def test_no_decisions_keep_every_considered_row():
    out = Dedup(DedupSpec(), context(), Dedup.unpack(DECISION.empty_table()))(curated(rows()))
    assert [status for status, *_ in marks(out).values()] == ["kept", "kept", "kept", None, None]
