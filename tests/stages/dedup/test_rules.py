import pyarrow as pa
import pytest
from dedup_candidates import candidate, table

from schemas.records import DEDUP_CANDIDATE
from stages.dedup.rules import find_duplicates, priority

A = 0x0F0F_0F0F_0F0F_0F0F
NO_REFERENCES = DEDUP_CANDIDATE.empty_table()


def flip(value: int, *bits: int) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def decide(rows, references=NO_REFERENCES, **settings) -> dict[str, tuple[str, str, int]]:
    options = {"keep": "first", "threshold": 6, "bands": 4, **settings}
    result = find_duplicates(table(rows), references, **options)
    return {row["sample_key"]: (row["reason"], row["winner_key"], row["distance"]) for row in result.to_pylist()}


def test_exact_duplicates_lose_to_the_first_article_version_by_pmcid():
    rows = [candidate(30, probes=[A], sha="same"), candidate(4, probes=[A], sha="same"), candidate(200, probes=[A], sha="same")]
    decided = decide(rows)
    assert decided == {
        "PMC30v1-f001": ("duplicate_exact", "PMC4v1-f001", 0),
        "PMC200v1-f001": ("duplicate_exact", "PMC4v1-f001", 0),
    }


def test_longest_caption_wins_when_configured_and_order_breaks_ties():
    rows = [candidate(1, probes=[A], sha="s", chars=20), candidate(2, probes=[A], sha="s", chars=90), candidate(3, probes=[A], sha="s", chars=90)]
    decided = decide(rows, keep="longest_caption")
    assert decided == {"PMC1v1-f001": ("duplicate_exact", "PMC2v1-f001", 0), "PMC3v1-f001": ("duplicate_exact", "PMC2v1-f001", 0)}


def test_a_whole_figure_comes_before_its_panels():
    whole = candidate(5, 2, None, probes=[A])
    panel = candidate(5, 2, 1, probes=[A])
    assert priority(whole, "first") < priority(panel, "first")


def test_near_threshold_is_inclusive():
    at = candidate(2, probes=[flip(A, 0, 1, 2, 16, 17, 32)])  # 6 bits off; the fourth band (bits 48-63) agrees
    past = candidate(3, probes=[flip(A, 1, 2, 3, 4, 5, 6, 7)])  # 7 bits, all in the first band
    decided = decide([candidate(1, probes=[A]), at, past])
    assert decided == {"PMC2v1-f001": ("duplicate_near", "PMC1v1-f001", 6)}


def test_a_probe_matches_a_plain_hash_but_never_another_probe():
    original = candidate(1, probes=[A, 0x1234_5678_9ABC_DEF0])
    crop_of_it = candidate(2, probes=[flip(0x1234_5678_9ABC_DEF0, 3), 0xFFFF_0000_FFFF_0000])
    probe_cousin = candidate(3, probes=[0x0000_FFFF_0000_FFFF, 0xFFFF_0000_FFFF_0001])  # its probe is 1 bit from #2's probe
    decided = decide([original, crop_of_it, probe_cousin])
    assert decided == {"PMC2v1-f001": ("duplicate_near", "PMC1v1-f001", 1)}


def test_chains_do_not_drop_samples_far_from_the_winner():
    # 1 ~ 2 and 2 ~ 3 (4 bits each), but 1 and 3 are 8 bits apart: 2 loses to 1, 3 loses to 2.
    first = candidate(1, probes=[A])
    middle = candidate(2, probes=[flip(A, 0, 1, 2, 3)])
    last = candidate(3, probes=[flip(A, 0, 1, 2, 3, 4, 5, 6, 7)])
    assert decide([first, middle, last]) == {
        "PMC2v1-f001": ("duplicate_near", "PMC1v1-f001", 4),
        "PMC3v1-f001": ("duplicate_near", "PMC2v1-f001", 4),
    }
    # With the middle one ranked first, both ends lose to it and nothing else happens.
    middle_first = candidate(0, probes=middle["phash_probes"])
    assert decide([first, middle_first, last]) == {
        "PMC1v1-f001": ("duplicate_near", "PMC0v1-f001", 4),
        "PMC3v1-f001": ("duplicate_near", "PMC0v1-f001", 4),
    }


def test_pairs_sharing_no_band_are_not_compared_until_bands_exceed_their_distance():
    spread = candidate(2, probes=[flip(A, 0, 16, 32, 48)])  # 4 bits, one in each of 4 bands
    rows = [candidate(1, probes=[A]), spread]
    assert decide(rows, bands=4) == {}
    assert decide(rows, bands=5) == {"PMC2v1-f001": ("duplicate_near", "PMC1v1-f001", 4)}  # pigeonhole: 5 bands > 4 bits


def test_samples_of_one_figure_are_never_near_duplicates_but_exact_copies_count():
    whole = candidate(1, 2, None, probes=[A])
    panels = [candidate(1, 2, 1, probes=[flip(A, 1)]), candidate(1, 2, 2, probes=[flip(A, 2)], sha="same"), candidate(1, 2, 3, probes=[flip(A, 2)], sha="same")]
    elsewhere = candidate(7, 1, None, probes=[flip(A, 3)])
    assert decide([whole, *panels, elsewhere]) == {
        "PMC1v1-f002-p03": ("duplicate_exact", "PMC1v1-f002-p02", 0),
        "PMC7v1-f001": ("duplicate_near", "PMC1v1-f002", 1),
    }


def test_boilerplate_captions_never_make_different_images_duplicates():
    rows = [candidate(n, probes=[hash_], chars=len("Figure 1.")) for n, hash_ in ((1, A), (2, ~A & (2**64 - 1)), (3, 0x3333_CCCC_3333_CCCC))]
    assert decide(rows) == {}


def test_references_take_part_and_are_decided_only_where_a_new_sample_beats_them():
    done = [candidate(1, probes=[A], sha="s"), candidate(2, probes=[A], sha="s")]  # 2 lost to 1 in an earlier attempt
    new = [candidate(3, probes=[A], sha="s"), candidate(4, probes=[flip(A, 5)])]
    decided = decide(new, references=table(done))
    assert decided == {"PMC3v1-f001": ("duplicate_exact", "PMC1v1-f001", 0), "PMC4v1-f001": ("duplicate_near", "PMC1v1-f001", 1)}
    # a new sample that wins by the rule (a lower PMCID) displaces the earlier ones
    decided = decide([candidate(0, probes=[A], sha="s")], references=table(done))
    assert decided == {"PMC1v1-f001": ("duplicate_exact", "PMC0v1-f001", 0), "PMC2v1-f001": ("duplicate_exact", "PMC0v1-f001", 0)}


@pytest.mark.parametrize("exact, near, expected", [(False, True, "duplicate_near"), (True, False, "duplicate_exact")])
def test_exact_and_near_can_be_switched_off(exact, near, expected):
    rows = [candidate(1, probes=[A], sha="s"), candidate(2, probes=[A], sha="s"), candidate(3, probes=[flip(A, 1)])]
    decided = decide(rows, exact=exact, near=near)
    assert {reason for reason, _, _ in decided.values()} == {expected}
    assert ("PMC3v1-f001" in decided) == near


def test_decisions_table_has_the_declared_schema():
    result = find_duplicates(table([candidate(1, probes=[A]), candidate(2, probes=[A])]), NO_REFERENCES, keep="first", threshold=6, bands=4)
    assert result.schema.names == ["sample_key", "reason", "winner_key", "distance"]
    assert result.column("distance").type == pa.int32()


@pytest.mark.parametrize("pairs_per_step", [3, 1 << 22])
def test_near_pairs_are_every_pair_of_samples_within_the_threshold_whatever_the_steps(monkeypatch, pairs_per_step):
    import itertools

    import numpy as np

    from stages.dedup import rules

    monkeypatch.setattr(rules, "PAIRS_PER_STEP", pairs_per_step)
    rng = np.random.default_rng(7)
    rows = 60
    samples = rng.integers(0, 15, rows)
    band_keys = rng.integers(0, 4, rows)  # few band values: large groups
    hashes = np.array([flip(A, *rng.choice(64, rng.integers(0, 5), replace=False)) for _ in range(rows)], np.uint64)
    plain = rng.random(rows) < 0.4
    expected: dict[tuple[int, int], int] = {}
    for i, j in itertools.combinations(range(rows), 2):
        distance = (int(hashes[i]) ^ int(hashes[j])).bit_count()
        if band_keys[i] == band_keys[j] and samples[i] != samples[j] and (plain[i] or plain[j]) and distance <= 3:
            pair = (min(samples[i], samples[j]), max(samples[i], samples[j]))
            expected[pair] = min(distance, expected.get(pair, distance))
    low, high, distance = rules.near_pairs(samples, band_keys, hashes, plain, 3)
    assert dict(zip(zip(low.tolist(), high.tolist()), distance.tolist())) == expected
    assert len(low) == len(expected) > 5  # each pair once
