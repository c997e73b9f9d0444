"""The run-wide dedup on Ray Data: the rules of ``rules.py`` computed by grouping, never in one place.

1. Exact: candidates are grouped into ``partitions`` buckets by their pixel hash; each bucket
   resolves its hash groups (``rules.exact_losers``).
2. Near: every surviving sample becomes one row per (hash, LSH band) holding the band's value;
   rows are grouped into buckets by that value, and each bucket compares the hashes that share
   a band value (``rules.near_pairs``), emitting (loser, winner, distance) for near pairs.
3. The driver keeps, per loser, its first winner by priority. Its memory grows with the number
   of duplicates found, not with the input; everything proportional to the input stays in Ray's
   object store, which spills to disk.

A small input (up to ``LOCAL_LIMIT`` samples, a window of a demo-sized run) skips the grouping:
the same bucket steps run on all of it as one bucket in the driver's process, with the same
decisions, without the seconds the grouping's Ray datasets take to start.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data

from schemas.records import DEDUP_CANDIDATE, conform
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


# Up to this many samples (a window's candidates and the references together) the dedup decides in
# the driver's process: about 30 MB of hashes, and a second or two of work.
LOCAL_LIMIT = 50_000


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


def _band_arrays(batch: pa.Table, bands: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One entry per (band, value, hash) of each sample: the sample's row in ``batch``, the band
    key, the hash, and whether it is the sample's plain hash.

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
    return owner[rows], band_keys.ravel(), probes[rows], plain[rows]


def _band_rows(batch: pa.Table, *, bands: int, partitions: int) -> pa.Table:
    """``_band_arrays`` as rows tagged with their bucket, each with its sample's priority fields."""
    owner, band_keys, hashes, plain = _band_arrays(batch, bands)
    table = batch.select(PRIORITY_COLUMNS).take(pa.array(owner))
    columns = {
        "bucket": pa.array(_mixed_bucket(band_keys, partitions)),
        "band_key": pa.array(band_keys),
        "hash": pa.array(hashes),
        "plain": pa.array(plain),
        **{name: table.column(name) for name in PRIORITY_COLUMNS},
    }
    return pa.table(columns, schema=_BAND_ROW)


def _near_in_bucket(group: pa.Table, *, threshold: int, keep: Keep) -> pa.Table:
    sample_ids = pc.dictionary_encode(group.column("sample_key")).combine_chunks().indices.to_numpy()
    plain = group.column("plain").to_numpy(zero_copy_only=False)
    pairs = near_pairs(sample_ids, group.column("band_key").to_numpy(), group.column("hash").to_numpy(), plain, threshold)
    _, first_row = np.unique(sample_ids, return_index=True)  # any row of a sample carries its priority fields
    return _pairs_table(pairs, group.select(PRIORITY_COLUMNS), first_row, keep)


def _pairs_table(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], priorities: pa.Table, row_of: np.ndarray, keep: Keep) -> pa.Table:
    """The near pairs (``rules.near_pairs``) as (loser, distance, winner's priority fields); sample
    ``i``'s fields are row ``row_of[i]`` of ``priorities``."""
    low, high, distances = pairs
    involved = np.unique(np.r_[low, high])
    info = dict(zip(involved.tolist(), priorities.take(pa.array(row_of[involved], pa.int64())).to_pylist()))
    out: dict[str, list] = {name: [] for name in _PAIR.names}
    for a, b, distance in zip(low.tolist(), high.tolist(), distances.tolist()):
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
    local_limit: int = LOCAL_LIMIT,
) -> pa.Table:
    """Decisions (``rules.DECISION``) for ``candidates``, as ``rules.find_duplicates`` gives them.

    ``references`` (``DEDUP_CANDIDATE`` rows of finished work units and earlier runs) take part and
    get a decision only where a candidate displaces one (``rules.new_decisions``).
    ``partitions`` defaults to ``partitions_for`` the number of candidates and references. Up to
    ``local_limit`` of them, the buckets' work runs in this process as one bucket (same rules, same
    decisions): the grouping's Ray datasets would cost seconds of start-up for milliseconds of work.
    """
    candidates = candidates.materialize()
    decisions: dict[str, tuple[str, str, int]] = {}
    count = candidates.count() + references.num_rows
    if count == 0:
        return decisions_table(decisions)
    if count <= local_limit:
        engine = _InProcess([*ray.get(candidates.to_arrow_refs()), references])
    else:
        if references.num_rows:
            candidates = candidates.union(ray.data.from_arrow(references.select(candidates.schema().names))).materialize()
        engine = _Grouped(candidates, partitions or partitions_for(count))
    if exact:
        for pair in engine.exact_pairs(keep).to_pylist():
            decisions[pair["loser_key"]] = ("duplicate_exact", pair["winner_key"], 0)
    if near:
        losers = pa.array(sorted(decisions), pa.string())
        best: dict[str, tuple] = {}
        for pair in engine.near_pairs(losers, bands=bands, threshold=threshold, keep=keep).to_pylist():
            winner = {name: pair[f"winner_{name}"] for name in PRIORITY_COLUMNS}
            offer = (priority(winner, keep), pair["distance"], winner["sample_key"])
            if pair["loser_key"] not in best or offer < best[pair["loser_key"]]:
                best[pair["loser_key"]] = offer
        for loser, (_, distance, winner) in best.items():
            decisions[loser] = ("duplicate_near", winner, distance)
    return decisions_table(new_decisions(decisions, references))


def _without(losers: pa.Array):
    return lambda batch: batch.filter(pc.invert(pc.is_in(batch.column("sample_key"), value_set=losers)))


class _Grouped:
    """Each step grouped into ``partitions`` buckets on Ray: input-sized work never in one place."""

    def __init__(self, candidates: ray.data.Dataset, partitions: int):
        self.candidates, self.partitions = candidates, partitions

    def exact_pairs(self, keep: Keep) -> pa.Table:
        grouped = self.candidates.map_batches(_with_exact_bucket, batch_format="pyarrow", fn_kwargs={"partitions": self.partitions})
        pairs = grouped.groupby("bucket", num_partitions=self.partitions).map_groups(_resolve_exact, batch_format="pyarrow", fn_kwargs={"keep": keep})
        return _collect(pairs, _EXACT)

    def near_pairs(self, losers: pa.Array, *, bands: int, threshold: int, keep: Keep) -> pa.Table:
        survivors = self.candidates.map_batches(_without(losers), batch_format="pyarrow")
        band_rows = survivors.map_batches(_band_rows, batch_format="pyarrow", fn_kwargs={"bands": bands, "partitions": self.partitions})
        found = band_rows.groupby("bucket", num_partitions=self.partitions).map_groups(
            _near_in_bucket, batch_format="pyarrow", fn_kwargs={"threshold": threshold, "keep": keep}
        )
        return _collect(found, _PAIR)


class _InProcess:
    """The same steps on all candidates at once, as one bucket, in this process."""

    def __init__(self, tables: list[pa.Table]):
        blocks = [conform(table, DEDUP_CANDIDATE) for table in tables if table.num_rows]
        self.table = pa.concat_tables(blocks) if blocks else DEDUP_CANDIDATE.empty_table()

    def exact_pairs(self, keep: Keep) -> pa.Table:
        return _resolve_exact(self.table, keep=keep)

    def near_pairs(self, losers: pa.Array, *, bands: int, threshold: int, keep: Keep) -> pa.Table:
        survivors = _without(losers)(self.table)
        if survivors.num_rows == 0:
            return _PAIR.empty_table()
        # as one bucket, on arrays: the bucket's rows, about 50 a sample each with a copy of the
        # priority fields, were half the driver's growth at 20,000 samples
        pairs = near_pairs(*_band_arrays(survivors, bands), threshold)
        return _pairs_table(pairs, survivors.select(PRIORITY_COLUMNS), np.arange(survivors.num_rows), keep)
