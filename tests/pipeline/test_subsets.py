"""Subsets without rewriting, physical reshards, and trainer-side loading of the run's shards."""

import pyarrow.dataset as pads
import pytest
import torch
import webdataset as wds

from pipeline.cli import main
from pipeline.subsets import SubsetError, make_subset, reshard, subset_dataset
from stages.io.shard_writer import read_samples


def index_rows(output):
    return pads.dataset(output / "index", format="parquet").to_table(columns=["sample_key", "license", "split", "image_width"]).to_pylist()


def test_subset_selects_by_sql_and_streams_only_those_samples(run_output):
    output, _, _ = run_output
    where = "license IN ('CC BY', 'CC0') AND image_width >= 100"
    info = make_subset(output, where, "open")
    expected = sorted(r["sample_key"] for r in index_rows(output) if r["license"] in ("CC BY", "CC0") and r["image_width"] >= 100)
    assert 0 < info["samples"] == len(expected) < info["of_samples"]
    streamed = sorted(sample["__key__"] for sample in subset_dataset(output, "open", shardshuffle=False))
    assert streamed == expected
    assert sum(info["shards"].values()) == len(expected)


def test_reshard_copies_exactly_the_subset_into_verified_shards(run_output, tmp_path):
    output, _, _ = run_output
    info = make_subset(output, "split = 'train'", "train")
    result = reshard(output, "train", tmp_path / "train", samples_per_shard=4)
    assert result["samples"] == info["samples"]
    assert [s["samples"] for s in result["shards"]][:-1] == [4] * (len(result["shards"]) - 1)
    copied = [key for shard in sorted((tmp_path / "train" / "shards").glob("*.tar")) for key, _ in read_samples(shard)]
    assert copied == sorted(r["sample_key"] for r in index_rows(output) if r["split"] == "train")
    original = {key: members for shard in (output / "shards").glob("*.tar") for key, members in read_samples(shard)}
    for shard in (tmp_path / "train" / "shards").glob("*.tar"):
        for key, members in read_samples(shard):
            assert members == original[key]
    with pytest.raises(SubsetError, match="not empty"):
        reshard(output, "train", tmp_path / "train", samples_per_shard=4)


@pytest.mark.parametrize(
    "where, message",
    [
        ("no_such_column = 1", "failed"),
        ("1=1; DROP TABLE samples", "no ';'"),
        ("sample_key IN (SELECT * FROM read_csv('/etc/passwd'))", "failed"),
    ],
)
def test_bad_or_escaping_conditions_are_refused(run_output, where, message):
    output, _, _ = run_output
    with pytest.raises(SubsetError, match=message):
        make_subset(output, where, "bad")


def test_subset_cli(run_output, capsys):
    output, _, _ = run_output
    assert main(["subset", str(output), "--where", "split = 'train'", "--name", "cli"]) == 0
    assert "subset 'cli':" in capsys.readouterr().out
    assert main(["subset", str(output), "--where", "x", "--name", "bad name"]) == 2
    assert capsys.readouterr().err.startswith("figcurate subset: subset name 'bad name'")


def test_shuffled_multi_worker_loading_sees_every_sample_once(run_output):
    output, stats, _ = run_output
    urls = [str(p) for p in sorted((output / "shards").glob("*.tar"))]
    dataset = (
        wds.WebDataset(urls, shardshuffle=100)
        .shuffle(50)
        .to_tuple("__key__", "txt")
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
    keys = [key for key, _ in loader]
    assert len(keys) == stats["samples"] == len(set(keys))
    assert keys != sorted(keys)


def test_hugging_face_datasets_streams_every_sample(run_output, monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    output, stats, _ = run_output
    files = [str(p) for p in sorted((output / "shards").glob("*.tar"))]
    stream = datasets.load_dataset("webdataset", data_files={"train": files}, split="train", streaming=True)
    seen = {example["__key__"]: example["txt"] for example in stream}
    index = {row["sample_key"]: row["caption"] for row in pads.dataset(output / "index", format="parquet").to_table(columns=["sample_key", "caption"]).to_pylist()}
    assert len(seen) == stats["samples"] and set(seen) == set(index)
    assert all(seen[key] == index[key] for key in seen)
