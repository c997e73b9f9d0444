"""The run-wide dedup on Ray Data: the rules of ``rules.py`` computed by grouping, never in one place.

1. Exact: candidates are grouped into ``partitions`` buckets by their pixel hash; each bucket
   resolves its hash groups (``rules.exact_losers``).
2. Near: every surviving sample becomes one row per (hash, LSH band) holding the band's value;
   rows are grouped into buckets by that value, and each bucket compares the hashes that share
   a band value (``rules.near_pairs``), emitting (loser, winner, distance) for near pairs.
3. The driver keeps, per loser, its first winner by priority. Its memory grows with the number
   of duplicates found, not with the input; everything proportional to the input stays in Ray's
   object store, which spills to disk.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray.data

from stages.dedup.hashing import band_values
from stages.dedup.rules import (
    Keep,
    decisions_table,
    exact_losers,
    near_pairs,
    new_decisions,
    priority,
    same_figure,
)

PRIORITY_COLUMNS = ["sample_key", "pmcid", "version", "figure_index", "panel_index", "caption_chars"]
_BAND_ROW = pa.schema(
    [
        pa.field("bucket", pa.int32()),
        pa.field("band_key", pa.int64()),
        pa.field("hash", pa.uint64()),
        pa.field("plain", pa.bool_()),
        pa.field("sample_key", pa.string()),
        pa.field("pmcid", pa.string()),
        pa.field("version", pa.int32()),
        pa.field("figure_index", pa.int32()),
        pa.field("panel_index", pa.int32()),
        pa.field("caption_chars", pa.int32()),
    ]
)
_PAIR = pa.schema(
    [
        pa.field("loser_key", pa.string()),
        pa.field("distance", pa.int32()),
        *[pa.field(f"winner_{name}", _BAND_ROW.field(name).type) for name in PRIORITY_COLUMNS],
    ]
)
_EXACT = pa.schema([pa.field("loser_key", pa.string()), pa.field("winner_key", pa.string())])


def partitions_for(candidates: int) -> int:
    """Buckets for ``candidates`` samples: about 10,000 per bucket, between 1 and 512."""
    return max(1, min(512, -(-candidates // 10_000)))


def _with_exact_bucket(batch: pa.Table, *, partitions: int) -> pa.Table:
    """Bucket by a stable digest of the pixel hash."""
    digests = [int.from_bytes(hashlib.blake2b(value.encode(), digest_size=7).digest(), "big") for value in batch.column("pixel_sha256").to_pylist()]
    return batch.append_column("bucket", pa.array(_mixed_bucket(np.array(digests, np.int64), partitions)))


def _resolve_exact(group: pa.Table, *, keep: Keep) -> pa.Table:
    pairs = exact_losers(group.drop_columns(["phash_probes"]).to_pylist(), keep)
    return pa.table(
        {"loser_key": [loser["sample_key"] for loser, _ in pairs], "winner_key": [winner["sample_key"] for _, winner in pairs]},
        schema=_EXACT,
    )


def _mixed_bucket(values: np.ndarray, partitions: int) -> np.ndarray:
    """A stable bucket per int64 value (Fibonacci hashing), the same in every process."""
    with np.errstate(over="ignore"):
        mixed = values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((mixed >> np.uint64(32)) % np.uint64(partitions)).astype(np.int32)


def _band_rows(batch: pa.Table, *, bands: int, partitions: int) -> pa.Table:
    """One row per (band, value, hash) of each sample, tagged with its bucket.

    A probe equal to the sample's plain hash (or to an earlier probe) adds nothing and is left out.
    """
    lists = batch.column("phash_probes").combine_chunks()
    probes = lists.flatten().to_numpy().astype(np.uint64)
    counts = np.diff(lists.offsets.to_numpy())
    owner = np.repeat(np.arange(batch.num_rows), counts)
    position = np.arange(len(probes)) - np.repeat(lists.offsets.to_numpy()[:-1], counts)
    _, first = np.unique(np.stack([owner.astype(np.uint64), probes]), axis=1, return_index=True)
    keep = np.sort(first)
    probes, owner, plain = probes[keep], owner[keep], position[keep] == 0
    values = band_values(probes, bands)  # (hashes, bands)
    band_keys = (np.arange(bands, dtype=np.int64)[None, :] << 32) | values
    rows = np.repeat(np.arange(len(probes)), bands)
    band_keys = band_keys.ravel()
    table = batch.select(PRIORITY_COLUMNS).take(pa.array(owner[rows]))
    columns = {
        "bucket": pa.array(_mixed_bucket(band_keys, partitions)),
        "band_key": pa.array(band_keys),
        "hash": pa.array(probes[rows]),
        "plain": pa.array(plain[rows]),
        **{name: table.column(name) for name in PRIORITY_COLUMNS},
    }
    return pa.table(columns, schema=_BAND_ROW)


def _near_in_bucket(group: pa.Table, *, threshold: int, keep: Keep) -> pa.Table:
    group = group.sort_by("band_key")
    band_keys = group.column("band_key").to_numpy()
    hashes = group.column("hash").to_numpy()
    plain = group.column("plain").to_numpy(zero_copy_only=False)
    sample_ids = pc.dictionary_encode(group.column("sample_key")).combine_chunks().indices.to_numpy()
    starts = np.flatnonzero(np.r_[True, band_keys[1:] != band_keys[:-1]])
    ends = np.r_[starts[1:], len(band_keys)]
    shared = np.flatnonzero(ends - starts >= 2)  # band values held by more than one hash
    best: dict[tuple[int, int], int] = {}  # (sample a, sample b) -> smallest distance in this bucket
    for start, end in zip(starts[shared], ends[shared]):
        for a, b, distance in near_pairs(sample_ids[start:end], hashes[start:end], plain[start:end], threshold):
            best[(a, b)] = min(distance, best.get((a, b), distance))
    _, first_row = np.unique(sample_ids, return_index=True)  # any row of a sample carries its priority fields
    involved = sorted({sample for pair in best for sample in pair})
    rows = group.select(PRIORITY_COLUMNS).take(pa.array(first_row[involved], pa.int64())).to_pylist()
    info = dict(zip(involved, rows))
    out: dict[str, list] = {name: [] for name in _PAIR.names}
    for (a, b), distance in best.items():
        if same_figure(info[a], info[b]):
            continue
        winner, loser = sorted((info[a], info[b]), key=lambda row: priority(row, keep))
        out["loser_key"].append(loser["sample_key"])
        out["distance"].append(distance)
        for name in PRIORITY_COLUMNS:
            out[f"winner_{name}"].append(winner[name])
    return pa.table(out, schema=_PAIR)


def _collect(dataset: ray.data.Dataset, schema: pa.Schema) -> pa.Table:
    tables = [table for table in (ray.get(ref) for ref in dataset.to_arrow_refs()) if table.num_rows]
    return pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()


def find_duplicates_distributed(
    candidates: ray.data.Dataset,
    references: pa.Table,
    *,
    keep: Keep,
    threshold: int,
    bands: int,
    partitions: int | None = None,
    exact: bool = True,
    near: bool = True,
) -> pa.Table:
    """Decisions (``rules.DECISION``) for ``candidates``, as ``rules.find_duplicates`` gives them.

    ``references`` (``DEDUP_CANDIDATE`` rows of finished work units and earlier runs) take part and
    get a decision only where a candidate displaces one (``rules.new_decisions``).
    ``partitions`` defaults to ``partitions_for`` the number of candidates and references.
    """
    if references.num_rows:
        candidates = candidates.union(ray.data.from_arrow(references.select(candidates.schema().names)))
    candidates = candidates.materialize()
    decisions: dict[str, tuple[str, str, int]] = {}
    count = candidates.count()
    if count == 0:
        return decisions_table(decisions)
    partitions = partitions or partitions_for(count)
    if exact:
        grouped = candidates.map_batches(_with_exact_bucket, batch_format="pyarrow", fn_kwargs={"partitions": partitions})
        exact_pairs = grouped.groupby("bucket", num_partitions=partitions).map_groups(
            _resolve_exact, batch_format="pyarrow", fn_kwargs={"keep": keep}
        )
        for pair in _collect(exact_pairs, _EXACT).to_pylist():
            decisions[pair["loser_key"]] = ("duplicate_exact", pair["winner_key"], 0)
    if near:
        losers = pa.array(sorted(decisions), pa.string())
        survivors = candidates.map_batches(
            lambda batch: batch.filter(pc.invert(pc.is_in(batch.column("sample_key"), value_set=losers))), batch_format="pyarrow"
        )
        band_rows = survivors.map_batches(_band_rows, batch_format="pyarrow", fn_kwargs={"bands": bands, "partitions": partitions})
        near_found = band_rows.groupby("bucket", num_partitions=partitions).map_groups(
            _near_in_bucket, batch_format="pyarrow", fn_kwargs={"threshold": threshold, "keep": keep}
        )
        best: dict[str, tuple] = {}
        for pair in _collect(near_found, _PAIR).to_pylist():
            winner = {name: pair[f"winner_{name}"] for name in PRIORITY_COLUMNS}
            offer = (priority(winner, keep), pair["distance"], winner["sample_key"])
            if pair["loser_key"] not in best or offer < best[pair["loser_key"]]:
                best[pair["loser_key"]] = offer
        for loser, (_, distance, winner) in best.items():
            decisions[loser] = ("duplicate_near", winner, distance)
    return decisions_table(new_decisions(decisions, references))
