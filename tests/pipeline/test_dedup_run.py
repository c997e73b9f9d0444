"""Run-wide dedup in real runs: planted copies lose to their originals, and a resumed run decides the same."""

import json
import shutil
import tarfile

import pyarrow.parquet as pq
import pytest
from builders import run_config
from corpus_edits import jpeg, plant_copy, usable_figures
from PIL import Image

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus
from schemas.keys import sample_key

pytestmark = pytest.mark.slow


def key(figure: dict) -> str:
    return sample_key(figure["pmcid"], figure["version"], figure["figure_index"])


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A 14-article corpus (3 work units of 5) with an exact copy, a re-encode and a half-size copy planted
    in later articles than their originals, each in another unit."""
    root = tmp_path_factory.mktemp("dedup-corpus")
    generate_corpus(root, articles=14, seed=3)
    figures = usable_figures(root)
    first, second, third = figures[0], figures[1], figures[2]
    late = [f for f in figures if int(f["pmcid"][3:]) >= 9000011]
    plant_copy(root, first, late[0])
    plant_copy(root, second, late[1], lambda image: jpeg(image, 60))
    plant_copy(root, third, late[2], lambda image: jpeg(image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)))
    expected = {
        key(late[0]): ("duplicate_exact", key(first)),
        key(late[1]): ("duplicate_near", key(second)),
        key(late[2]): ("duplicate_near", key(third)),
    }
    return root, expected


def shard_metadata(shard) -> dict[str, dict]:
    with tarfile.open(shard) as tar:
        return {m.name.split(".")[0]: json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")}


def dedup_rejects(output) -> dict[str, tuple[str, str]]:
    rejects = pq.read_table(output / "rejects").to_pylist()
    return {r["key"]: (r["reason"], r["detail"].split(" from ")[-1].removeprefix("same pixels as ")) for r in rejects if r["stage"] == "dedup"}


def test_planted_copies_lose_to_their_originals_and_resume_decides_the_same(planted, tmp_path, ray_local):
    root, expected = planted
    config = load_config(run_config(tmp_path, root, tmp_path / "out"))
    stats = runner.run(config)
    output = tmp_path / "out"
    assert dedup_rejects(output) == expected
    assert stats["stages"]["dedup"]["dropped"] == {"duplicate_exact": 1, "duplicate_near": 2}
    index = pq.read_table(output / "index").to_pylist()
    statuses = {row["sample_key"]: row["dedup_status"] for row in index}
    assert set(statuses.values()) == {"kept"}
    assert {winner for _, winner in expected.values()} <= set(statuses)
    hashes = pq.read_table(output / "hashes")
    assert set(hashes.column("sample_key").to_pylist()) == set(statuses) | set(expected)
    by_key = {row["sample_key"]: row for row in index}
    for name, meta in shard_metadata(output / "shards" / "000000.tar").items():
        row = by_key[name]
        assert meta["hashes"] == {"pixel_sha256": row["pixel_sha256"], "phash": f"{row['phash']:016x}", "dedup_status": "kept"}
        assert meta["figure_type"]["label"] == row["figure_type"] and meta["figure_type"]["label"] is not None
        assert meta["quality"]["caption_language"] == row["caption_language"] == "en"

    # The losers' unit is lost (as if the run died before writing it); its rerun sees the winners
    # only through the finished units' hashes/ parts and must decide exactly as before.
    index_before = sorted(index, key=lambda row: row["sample_key"])
    (output / "units" / "000002.json").unlink()
    for folder in ("shards", "index", "rejects", "hashes"):
        for part in (output / folder).glob("000002.*"):
            part.unlink()
    again = runner.run(config)
    assert again["resume"]["units_run"] == 1
    assert dedup_rejects(output) == expected
    assert sorted(pq.read_table(output / "index").to_pylist(), key=lambda row: row["sample_key"]) == index_before


def test_switching_dedup_off_keeps_the_copies(planted, tmp_path, ray_local):
    root, expected = planted
    path = run_config(tmp_path, root, tmp_path / "out")
    path.write_text(path.read_text().replace("filters: {min_side: 48}", "filters: {min_side: 48}, dedup: {enabled: false}"))
    runner.run(load_config(path))
    keys = set(pq.read_table(tmp_path / "out" / "index").column("sample_key").to_pylist())
    assert set(expected) <= keys
    assert not (tmp_path / "out" / "hashes").exists()
    shutil.rmtree(tmp_path / "out")


def run_in_windows(root, folder, window_units: int):
    config = load_config(run_config(folder, root, folder / "out"))
    config = config.model_copy(update={"output": config.output.model_copy(update={"window_units": window_units})})
    stats = runner.run(config)
    index = sorted(pq.read_table(folder / "out" / "index").to_pylist(), key=lambda row: row["sample_key"])
    rejects = sorted(pq.read_table(folder / "out" / "rejects").to_pylist(), key=lambda row: (row["key"], row["stage"]))
    return stats, index, rejects


@pytest.fixture(scope="module")
def one_window(planted, tmp_path_factory, ray_local):
    root, _ = planted
    return run_in_windows(root, tmp_path_factory.mktemp("one-window"), window_units=16)


@pytest.mark.parametrize("window_units", [1, 2])
def test_any_window_size_keeps_and_drops_exactly_what_one_window_does(planted, one_window, window_units, tmp_path, ray_local):
    root, expected = planted
    stats, index, rejects = run_in_windows(root, tmp_path, window_units)
    _, index_once, rejects_once = one_window
    assert stats["units"] == 3 and -(-3 // window_units) > 1  # really more than one window
    assert dedup_rejects(tmp_path / "out") == expected  # the copies meet their originals from an earlier window
    assert index == index_once
    assert rejects == rejects_once
