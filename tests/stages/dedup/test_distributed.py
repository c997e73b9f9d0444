"""The Ray Data dedup gives exactly the single-process answer, winners and distances included."""

import random

import pyarrow as pa
import pytest
import ray.data
from dedup_candidates import candidate, table

from schemas.records import DEDUP_CANDIDATE
from stages.dedup.distributed import find_duplicates_distributed
from stages.dedup.rules import find_duplicates


def planted_candidates(count: int, seed: int) -> list[dict]:
    """Random hashes with planted exact copies, near copies (a few flipped bits) and crop-like probe matches."""
    rng = random.Random(seed)
    rows = []
    for number in range(1, count + 1):
        roll = rng.random()
        if rows and roll < 0.15:  # exact copy of an earlier sample
            source = rng.choice(rows)
            rows.append(candidate(number, probes=source["phash_probes"], sha=source["pixel_sha256"], chars=rng.randint(5, 300)))
        elif rows and roll < 0.35:  # near copy: flip a few bits of an earlier sample's plain hash
            plain = rng.choice(rows)["phash"]
            for bit in rng.sample(range(64), rng.randint(0, 8)):
                plain ^= 1 << bit
            rows.append(candidate(number, probes=[plain, rng.getrandbits(64)], chars=rng.randint(5, 300)))
        elif rows and roll < 0.45:  # a crop: its plain hash is close to a probe of an earlier sample
            probes = rng.choice(rows)["phash_probes"]
            rows.append(candidate(number, probes=[probes[-1] ^ (1 << rng.randrange(64)), rng.getrandbits(64)]))
        else:
            rows.append(candidate(number, probes=[rng.getrandbits(64) for _ in range(3)], chars=rng.randint(5, 300)))
    return rows


GROUPED, IN_PROCESS = 0, 10_000  # local_limit: below how many samples the buckets' work runs in this process


@pytest.mark.parametrize("local_limit", [GROUPED, IN_PROCESS])
@pytest.mark.parametrize("keep", ["first", "longest_caption"])
def test_distributed_equals_single_process(ray_local, keep, local_limit):
    rows = planted_candidates(600, seed=11)
    settings = {"keep": keep, "threshold": 6, "bands": 4}
    expected = find_duplicates(table(rows), DEDUP_CANDIDATE.empty_table(), **settings)
    blocks = [table(rows[start : start + 50]) for start in range(0, len(rows), 50)]
    found = find_duplicates_distributed(ray.data.from_arrow(blocks), DEDUP_CANDIDATE.empty_table(), partitions=7, local_limit=local_limit, **settings)
    assert found.to_pylist() == expected.to_pylist()
    reasons = set(expected.column("reason").to_pylist())
    assert reasons == {"duplicate_exact", "duplicate_near"} and expected.num_rows > 100


@pytest.mark.parametrize("local_limit", [GROUPED, IN_PROCESS])
def test_distributed_with_references_equals_single_process(ray_local, local_limit):
    rows = planted_candidates(400, seed=5)
    done, new = rows[:250:2] + rows[250::3], [row for index, row in enumerate(rows) if not (index < 250 and index % 2 == 0 or index >= 250 and (index - 250) % 3 == 0)]
    settings = {"keep": "first", "threshold": 6, "bands": 4}
    expected = find_duplicates(table(new), table(done), **settings)
    found = find_duplicates_distributed(ray.data.from_arrow(table(new)), table(done), partitions=3, local_limit=local_limit, **settings)
    assert found.to_pylist() == expected.to_pylist()
    # every decision is the one a run over everything makes: all of the new rows', and a done row's
    # only where a new row beats it (the earlier sample a new one displaces)
    whole = {row["sample_key"]: row for row in find_duplicates(table(rows), DEDUP_CANDIDATE.empty_table(), **settings).to_pylist()}
    done_keys = {row["sample_key"] for row in done}
    expected_whole = {key: row for key, row in whole.items() if key not in done_keys or row["winner_key"] not in done_keys}
    assert {row["sample_key"]: row for row in found.to_pylist()} == expected_whole
    assert any(key in done_keys for key in expected_whole)  # the planted rows have such displacements


def test_the_in_process_path_is_taken_only_up_to_its_limit(ray_local, monkeypatch):
    from stages.dedup import distributed

    taken = []
    monkeypatch.setattr(distributed._InProcess, "exact_pairs", lambda self, keep: taken.append(self.table.num_rows) or distributed._EXACT.empty_table())
    rows = planted_candidates(120, seed=3)
    settings = {"keep": "first", "threshold": 6, "bands": 4, "near": False}
    find_duplicates_distributed(ray.data.from_arrow(table(rows[:100])), table(rows[100:]), local_limit=120, **settings)
    assert taken == [120]  # candidates and references together, in one table
    find_duplicates_distributed(ray.data.from_arrow(table(rows[:100])), table(rows[100:]), local_limit=119, **settings)
    assert taken == [120]


def test_no_candidates_no_decisions(ray_local):
    empty = ray.data.from_arrow(DEDUP_CANDIDATE.empty_table())
    found = find_duplicates_distributed(empty, DEDUP_CANDIDATE.empty_table(), keep="first", threshold=6, bands=4, partitions=2)
    assert found.num_rows == 0 and isinstance(found, pa.Table)
