"""What makes a sample a duplicate, and which sample wins: the rules both dedup engines share.

- **Exact**: samples with the same ``pixel_sha256``; the one first by priority wins, every other
  loses (``duplicate_exact``).
- **Near**, among the exact winners: each sample has its pHash and the pHashes of its probe crops.
  Two samples are near when a hash of one and the *plain* pHash of the other agree on one LSH band
  (``hashing.band_values``) and differ in at most ``hamming_threshold`` bits; their distance is the
  smallest such difference. Probes are never compared with probes: that gives look-alike images
  (two CT slices, two bar charts) too many chances to meet (measured: 98 false pairs in 44,850
  instead of 5). A sample loses (``duplicate_near``) when a near sample comes before it
  by priority; its detail names the first such sample. This is a
  property of pairs, so any partition of the work gives the same answer, and a chain A~B~C with A
  and C far apart never costs C its place because of A. Samples of one figure (its panels, and
  the whole figure beside its panels) are never near duplicates of each other: they are distinct
  by construction, with their own subcaptions, and sibling panels (MRI sequences of one slice)
  look alike to a 64-bit hash. Exact copies count everywhere.
- Priority: ``first`` takes the earliest article version by PMCID, then figure and panel order
  (a whole figure before its panels); ``longest_caption`` takes the longest training text first,
  then the same order. The caption never makes two samples duplicates: boilerplate such as
  "Figure 1." counts only together with its image.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Literal

import numpy as np
import pyarrow as pa

from stages.dedup.hashing import band_values, hamming

Keep = Literal["first", "longest_caption"]

DECISION = pa.schema(
    [
        pa.field("sample_key", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("winner_key", pa.string(), nullable=False),
        pa.field("distance", pa.int32(), nullable=False),
    ]
)


def priority(row: dict, keep: Keep) -> tuple:
    panel = -1 if row["panel_index"] is None else row["panel_index"]
    order = (int(row["pmcid"][3:]), row["version"], row["figure_index"] or 0, panel, row["sample_key"])
    return (-(row["caption_chars"] or 0), *order) if keep == "longest_caption" else order


def same_figure(a: dict, b: dict) -> bool:
    return (a["pmcid"], a["version"], a["figure_index"]) == (b["pmcid"], b["version"], b["figure_index"])


def exact_losers(rows: list[dict], keep: Keep) -> list[tuple[dict, dict]]:
    """(loser, winner) for every row whose pixel hash another row of higher priority shares."""
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_hash[row["pixel_sha256"]].append(row)
    pairs = []
    for group in by_hash.values():
        if len(group) > 1:
            ordered = sorted(group, key=lambda row: priority(row, keep))
            pairs += [(loser, ordered[0]) for loser in ordered[1:]]
    return pairs


# Comparisons made at once (a plain hash against every row of its band group). Small steps are
# as fast (the arrays stay in cache) and bound the memory: on the hashes of 3,000 articles (8 M
# comparisons) steps of 4 M held 210 MB more and took 0.62 s, steps of 65,536 held 43 MB, 0.23 s.
PAIRS_PER_STEP = 1 << 16


def near_pairs(samples: np.ndarray, band_keys: np.ndarray, hashes: np.ndarray, plain: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Near pairs among hash rows: (sample a, sample b, distance) arrays, a < b, each pair once with
    its smallest distance.

    Row ``i`` holds hash ``hashes[i]`` of sample ``samples[i]`` in LSH band ``band_keys[i]``;
    ``plain[i]`` says whether it is the sample's plain pHash (not a probe). Rows of different samples
    that share a band key are compared when at least one is plain (only plain rows are compared with
    the others) and are near within ``threshold`` bits. All groups at once, in steps of at most
    ``PAIRS_PER_STEP`` comparisons (a group larger than that is one step).
    """
    order = np.argsort(band_keys, kind="stable")
    samples, band_keys, hashes, plain = samples[order], band_keys[order], hashes[order], plain[order]
    starts = np.flatnonzero(np.r_[True, band_keys[1:] != band_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(band_keys)])
    group = np.repeat(np.arange(len(starts)), sizes)
    left = np.flatnonzero(plain & (sizes[group] >= 2))
    counts = sizes[group[left]]
    found = []
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(PAIRS_PER_STEP, ends[-1], PAIRS_PER_STEP), side="right") if len(ends) else []
    for rows, row_counts in zip(np.split(left, cuts), np.split(counts, cuts)):
        if not len(rows):
            continue
        plain_rows = np.repeat(rows, row_counts)  # each plain row once for every row of its group
        within = np.arange(len(plain_rows)) - np.repeat(np.cumsum(row_counts) - row_counts, row_counts)
        other_rows = starts[group[plain_rows]] + within
        distance = hamming(hashes[plain_rows], hashes[other_rows])
        a, b = samples[plain_rows], samples[other_rows]
        near = (a != b) & (distance <= threshold)
        found.append((np.minimum(a, b)[near], np.maximum(a, b)[near], distance[near]))
    low, high, distance = (np.concatenate(parts).astype(np.int64) for parts in zip(*found)) if found else [np.empty(0, np.int64)] * 3
    if not len(low):
        return low, high, distance
    pair = low * (int(samples.max()) + 1) + high
    by_pair = np.lexsort((distance, pair))  # each pair's smallest distance first
    first = by_pair[np.r_[True, pair[by_pair][1:] != pair[by_pair][:-1]]]
    return low[first], high[first], distance[first]


def new_decisions(decisions: dict[str, tuple[str, str, int]], references: pa.Table) -> dict[str, tuple[str, str, int]]:
    """The decisions this pass makes: every candidate's, and a reference's only where a candidate beat
    it (a sample of an earlier run that a new sample displaces); references were decided among
    themselves before."""
    decided_before = set(references.column("sample_key").to_pylist())
    return {key: value for key, value in decisions.items() if key not in decided_before or value[1] not in decided_before}


def decisions_table(decisions: dict[str, tuple[str, str, int]]) -> pa.Table:
    keys = sorted(decisions)
    return pa.table(
        {
            "sample_key": keys,
            "reason": [decisions[k][0] for k in keys],
            "winner_key": [decisions[k][1] for k in keys],
            "distance": [decisions[k][2] for k in keys],
        },
        schema=DECISION,
    )


def find_duplicates(
    candidates: pa.Table, references: pa.Table, *, keep: Keep, threshold: int, bands: int, exact: bool = True, near: bool = True
) -> pa.Table:
    """The whole run's decisions in one process: the reference the distributed engine must equal.

    Both tables have the ``DEDUP_CANDIDATE`` columns; ``references`` are rows of finished work
    units and earlier runs: they take part, and get a decision only where a candidate displaces one.
    """
    rows = candidates.to_pylist() + references.to_pylist()
    decisions: dict[str, tuple[str, str, int]] = {}
    if exact:
        for loser, winner in exact_losers(rows, keep):
            decisions[loser["sample_key"]] = ("duplicate_exact", winner["sample_key"], 0)
    if near:
        survivors = [row for row in rows if row["sample_key"] not in decisions]
        buckets: dict[tuple[int, int], list[tuple[int, int, bool]]] = defaultdict(list)
        for index, row in enumerate(survivors):
            probes = np.array(row["phash_probes"], np.uint64)
            for position, (probe, probe_bands) in enumerate(zip(probes, band_values(probes, bands))):
                for band, value in enumerate(probe_bands):
                    buckets[(band, int(value))].append((index, int(probe), position == 0))
        best: dict[str, tuple] = {}
        for members in buckets.values():
            for (a, hash_a, plain_a), (b, hash_b, plain_b) in combinations(members, 2):
                distance = (hash_a ^ hash_b).bit_count()
                if a == b or not (plain_a or plain_b) or distance > threshold or same_figure(survivors[a], survivors[b]):
                    continue
                winner, loser = sorted((survivors[a], survivors[b]), key=lambda row: priority(row, keep))
                offer = (priority(winner, keep), distance, winner["sample_key"])
                if loser["sample_key"] not in best or offer < best[loser["sample_key"]]:
                    best[loser["sample_key"]] = offer
        for loser, (_, distance, winner) in best.items():
            decisions[loser] = ("duplicate_near", winner, distance)
    return decisions_table(new_decisions(decisions, references))
