"""The chain of runs a --since run follows (its cross-run dedup and supersession are tested in test_pmc_s3_run.py)."""

import json

from pipeline.history import chain_of
from stages.io.output_location import open_location


def fake_run(folder, since=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stats.json").write_text(json.dumps({"source": {"since": str(since) if since else None}}))
    return folder


def test_the_chain_follows_since_links_newest_first_and_stops_at_a_loop(tmp_path):
    first = fake_run(tmp_path / "a")
    second = fake_run(tmp_path / "b", first)
    third = fake_run(tmp_path / "c", second)
    assert [str(run) for run in chain_of(open_location(str(third)))] == [str(third), str(second), str(first)]
    fake_run(first, third)  # a loop: a -> c -> b -> a
    assert [str(run) for run in chain_of(open_location(str(third)))] == [str(third), str(second), str(first)]
