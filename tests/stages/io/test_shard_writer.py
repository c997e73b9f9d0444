import io
import json
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from builders import sample_row

from schemas.records import GENERATED, INDEX, REJECT, SAMPLE, conform
from stages.io.output_location import OutputTarget
from stages.io.shard_writer import (
    ShardVerificationError,
    unit_funnel,
    verify_tar,
    write_tar,
    write_unit,
)

SPLITS = {"train": 0.5, "test": 0.5}
STAGE_UNITS = [("fetch", "article"), ("parse_jats", "figure"), ("fetch_media", "figure"), ("images", "figure")]


def dropped(row, stage, reason):
    return {**row, "image": None, "drop_stage": stage, "drop_reason": reason, "drop_detail": "d"}


def unit_group():
    rows = [
        sample_row(2, pmcid="PMC2"),
        sample_row(1, pmcid="PMC2"),
        dropped(sample_row(3, pmcid="PMC2"), "images", "image_decode_error"),
        sample_row(1, pmcid="PMC3"),
        # an article dropped at fetch: no figure identity
        {"pmcid": "PMC4", "version": 1, "work_unit": 7, "source_prefix": "PMC4.1", "drop_stage": "fetch", "drop_reason": "fetch_not_found", "drop_detail": "k"},
    ]
    for row in rows:
        row["work_unit"] = 7
    return conform(pa.Table.from_pylist(rows, schema=SAMPLE), SAMPLE)


def test_write_unit_publishes_verified_shard_index_rejects_and_unit_record(tmp_path):
    summary = write_unit(unit_group(), output=OutputTarget(uri=str(tmp_path)), stage_units=STAGE_UNITS, fingerprint="f", splits=SPLITS)
    summary_row = summary.to_pylist()[0]
    assert {k: summary_row[k] for k in ("unit", "samples", "rejects")} == {"unit": 7, "samples": 3, "rejects": 2}
    assert json.loads(summary_row["drops"]) == {"fetch_not_found": 1, "image_decode_error": 1}
    shard = tmp_path / "shards" / "000007.tar"
    samples = list(wds.WebDataset(str(shard), shardshuffle=False))
    assert [s["__key__"] for s in samples] == ["PMC2v1-f001", "PMC2v1-f002", "PMC3v1-f001"]
    first = samples[0]
    assert first["txt"].decode() == "Caption of figure 1."
    meta = json.loads(first["json"])
    assert (meta["pmcid"], meta["license"], meta["figure_index"]) == ("PMC2", "CC BY", 1)
    assert first["jpg"][:2] == b"\xff\xd8"

    index = pq.read_table(tmp_path / "index" / "000007.parquet")
    assert index.schema.equals(INDEX, check_metadata=False)
    assert index.column("sample_key").to_pylist() == ["PMC2v1-f001", "PMC2v1-f002", "PMC3v1-f001"]
    assert set(index.column("shard").to_pylist()) == {"000007.tar"}

    rejects = pq.read_table(tmp_path / "rejects" / "000007.parquet")
    assert rejects.schema.equals(REJECT, check_metadata=False)
    assert rejects.select(["key", "stage", "reason"]).to_pylist() == [
        {"key": "PMC2v1-f003", "stage": "images", "reason": "image_decode_error"},
        {"key": "PMC4v1", "stage": "fetch", "reason": "fetch_not_found"},
    ]
    record = json.loads((tmp_path / "units" / "000007.json").read_text())
    assert record["samples"] == 3 and record["bytes"] == shard.stat().st_size
    assert record["funnel"]["fetch"] == {"unit": "article", "in": 3, "out": 2, "dropped": {"fetch_not_found": 1}}
    assert record["funnel"]["images"] == {"unit": "figure", "in": 4, "out": 3, "dropped": {"image_decode_error": 1}}
    assert record["funnel"]["shard_writer"]["out"] == 3
    assert not list(tmp_path.rglob("*.tmp"))


def test_rewriting_a_unit_gives_identical_bytes(tmp_path):
    write_unit(unit_group(), output=OutputTarget(uri=str(tmp_path / "a")), stage_units=STAGE_UNITS, fingerprint="f", splits=SPLITS)
    write_unit(unit_group(), output=OutputTarget(uri=str(tmp_path / "b")), stage_units=STAGE_UNITS, fingerprint="f", splits=SPLITS)
    assert (tmp_path / "a/shards/000007.tar").read_bytes() == (tmp_path / "b/shards/000007.tar").read_bytes()
    a = json.loads((tmp_path / "a/units/000007.json").read_text())
    assert a["sha256"] == json.loads((tmp_path / "b/units/000007.json").read_text())["sha256"]


def test_verify_rejects_missing_member_and_wrong_count(tmp_path):
    rows = [{**row, "split": "train"} for row in pa.Table.from_pylist([sample_row(1), sample_row(2)], schema=SAMPLE).to_pylist()]
    path = tmp_path / "x.tar"
    write_tar(path, rows)
    verify_tar(path, ["PMC1v1-f001", "PMC1v1-f002"])
    with pytest.raises(ShardVerificationError, match="expected 3"):
        verify_tar(path, ["PMC1v1-f001", "PMC1v1-f002", "PMC1v1-f003"])
    broken = tmp_path / "broken.tar"
    with tarfile.open(path) as source, tarfile.open(broken, "w") as target:
        for member in source:
            if member.name != "PMC1v1-f002.txt":
                target.addfile(member, source.extractfile(member))
    with pytest.raises(ShardVerificationError, match="missing members"):
        verify_tar(broken, ["PMC1v1-f001", "PMC1v1-f002"])


def test_llm_members_are_optional_and_nothing_else_is_allowed(tmp_path):
    conversation = [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "A CT."}]
    llm = {"llm_recaption": "A CT of the chest.", "llm_conversation": json.dumps(conversation), "llm_model": "m", "llm_prompt_versions": ["instruct.v1"]}
    table = pa.Table.from_pylist([{**sample_row(1), **llm}, sample_row(2)], schema=GENERATED)
    rows = [{**row, "split": "train"} for row in table.to_pylist()]
    path = tmp_path / "x.tar"
    write_tar(path, rows)
    verify_tar(path, ["PMC1v1-f001", "PMC1v1-f002"])
    with tarfile.open(path) as tar:
        assert [m.name for m in tar][:5] == [f"PMC1v1-f001.{ext}" for ext in ("jpg", "txt", "json", "recap.txt", "conv.json")]
    sample = next(iter(wds.WebDataset(str(path), shardshuffle=False)))
    assert sample["recap.txt"] == b"A CT of the chest." and json.loads(sample["conv.json"])["conversations"] == conversation
    assert json.loads(sample["json"])["llm"]["recaption"] == "A CT of the chest."
    stray = tmp_path / "stray.tar"
    with tarfile.open(path) as source, tarfile.open(stray, "w") as target:
        for member in source:
            target.addfile(member, source.extractfile(member))
        extra = tarfile.TarInfo("PMC1v1-f002.notes.txt")
        extra.size = 1
        target.addfile(extra, io.BytesIO(b"x"))
    with pytest.raises(ShardVerificationError, match="unknown ones"):
        verify_tar(stray, ["PMC1v1-f001", "PMC1v1-f002"])


def test_funnel_counts_fan_out_in_each_stage_unit():
    rows = [
        {"pmcid": "P1", "version": 1, "figure_index": 1, "drop_stage": None, "drop_reason": None},
        {"pmcid": "P1", "version": 1, "figure_index": 2, "drop_stage": "fetch_media", "drop_reason": "fetch_not_found"},
        {"pmcid": "P2", "version": 1, "figure_index": None, "drop_stage": "parse_jats", "drop_reason": "xml_malformed"},
        {"pmcid": "P3", "version": 1, "figure_index": 1, "drop_stage": "parse_jats", "drop_reason": "caption_missing"},
        {"pmcid": "P3", "version": 1, "figure_index": 2, "drop_stage": None, "drop_reason": None},
    ]
    funnel = unit_funnel(rows, STAGE_UNITS, samples_written=2)
    assert funnel["fetch"] == {"unit": "article", "in": 3, "out": 3, "dropped": {}}
    assert funnel["parse_jats"] == {"unit": "figure", "in": 3, "out": 3, "dropped": {"caption_missing": 1, "xml_malformed": 1}}
    assert funnel["fetch_media"] == {"unit": "figure", "in": 3, "out": 2, "dropped": {"fetch_not_found": 1}}
    assert funnel["images"]["out"] == 2 and funnel["shard_writer"] == {"unit": "sample", "in": 2, "out": 2, "dropped": {}}


def test_funnel_counts_panels_and_whole_figures_as_panel_units():
    from stages.io.shard_writer import sample_text, unit_funnel

    base = {"pmcid": "PMC1", "version": 1, "drop_stage": None, "drop_reason": None}
    rows = [
        {**base, "figure_index": 1, "panel_index": 1},
        {**base, "figure_index": 1, "panel_index": 2},
        {**base, "figure_index": 1, "panel_index": 3, "drop_stage": "subcaptions", "drop_reason": "panel_too_small"},
        {**base, "figure_index": 2, "panel_index": None},
    ]
    funnel = unit_funnel(rows, [("images", "figure"), ("subfigures", "figure"), ("subcaptions", "panel")], 3)
    assert funnel["subfigures"]["out"] == 2
    assert funnel["subcaptions"] == {"unit": "panel", "in": 2, "out": 3, "dropped": {"panel_too_small": 1}}
    assert sample_text({"caption": "full", "panel_index": 1, "subcaption": "sub"}) == "sub"
    assert sample_text({"caption": "full", "panel_index": None, "subcaption": None}) == "full"
