"""The llm stage in a real run (transformers backend, tiny random Llama built here): shards, index,
rejects, and the LLaVA export read back from the shards."""

import json

import pyarrow.dataset as pads
import pytest
import webdataset as wds
import yaml
from builders import run_config

from pipeline import runner
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.manifest import verify_output
from served_models import served, write_scripted_llama
from stages.llm.tiny_model import write_tiny_llama

pytestmark = pytest.mark.slow


def llm_config(tmp_path, corpus, output, **llm):
    config = load_config(run_config(tmp_path, corpus, output))
    data = json.loads(config.model_dump_json())
    data["source"]["max_articles"] = 4
    data["stages"]["llm"] = {
        "enabled": True, "model": str(write_tiny_llama(tmp_path / "tiny-llama")), "allow_untrained": True,
        "tasks": ["recaption", "instruct"], "max_text_chars": 24, "max_items": 2, "max_new_tokens": 300, "batch_size": 4, **llm,
    }  # fmt: skip
    return type(config).model_validate(data)


@pytest.fixture(scope="module")
def llm_run(corpus, tmp_path_factory, ray_local):
    tmp_path = tmp_path_factory.mktemp("llm")
    output = tmp_path / "out"
    stats = runner.run(llm_config(tmp_path, corpus, output))
    return output, stats


def test_every_sample_gets_a_recaption_and_a_conversation(llm_run):
    output, stats = llm_run
    assert list(stats["stages"])[-2:] == ["llm", "shard_writer"]
    assert stats["samples"] > 0 and verify_output(output) == []
    index = pads.dataset(output / "index", format="parquet").to_table().to_pylist()
    assert len(index) == stats["samples"]
    for row in index:
        assert 0 < len(row["llm_recaption"]) <= 24
        assert json.loads(row["llm_conversation"])[0]["value"].startswith("<image>\n")
        assert row["llm_prompt_versions"] == ["recaption.v1", "instruct.v1"]
        assert row["llm_model"] == "tiny-llama@untrained-random" and row["llm_untrained"] is True
    by_key = {row["sample_key"]: row for row in index}
    shard = min((output / "shards").glob("*.tar"))
    for sample in wds.WebDataset(str(shard), shardshuffle=False):
        row = by_key[sample["__key__"]]
        assert sample["recap.txt"].decode() == row["llm_recaption"]
        conversation = json.loads(sample["conv.json"])
        assert conversation["conversations"] == json.loads(row["llm_conversation"]) and conversation["prompt_versions"] == ["recaption.v1", "instruct.v1"]
        assert json.loads(sample["json"])["llm"]["untrained"] is True


def test_llava_export_lists_records_whose_images_exist(llm_run, tmp_path, capsys):
    output, stats = llm_run
    destination = tmp_path / "llava"
    assert main(["export", "llava", str(output), str(destination)]) == 0
    assert "LLaVA records" in capsys.readouterr().out
    records = json.loads((destination / "llava.json").read_text())
    assert isinstance(records, list) and len({r["id"] for r in records}) == len(records)
    kinds = [("caption" if r["id"].endswith("-caption") else "vqa" if "-vqa" in r["id"] else "conversation") for r in records]
    assert kinds.count("conversation") == kinds.count("caption") == stats["samples"] <= kinds.count("vqa")
    assert len(list((destination / "images").iterdir())) == stats["samples"]
    for record in records:
        assert set(record) == {"id", "image", "conversations"}
        assert (destination / record["image"]).is_file() and not record["image"].startswith("/")
        first = record["conversations"][0]
        assert first["from"] == "human" and first["value"].startswith("<image>\n")
        assert [turn["from"] for turn in record["conversations"]] == ["human", "gpt"] * (len(record["conversations"]) // 2)
    assert main(["export", "llava", str(output), str(destination)]) == 2  # never over an earlier export
    assert capsys.readouterr().err.startswith("figcurate export llava: ")


def test_unconstrained_answers_become_rejects_with_their_raw_text(corpus, tmp_path, ray_local):
    output = tmp_path / "out"
    stats = runner.run(llm_config(tmp_path, corpus, output, constrained=False, max_new_tokens=16, tasks=["recaption"]))
    assert stats["samples"] == 0 and stats["stages"]["llm"]["dropped"]["llm_output_invalid"] > 0
    rejects = pads.dataset(output / "rejects", format="parquet").to_table().to_pylist()
    invalid = [row for row in rejects if row["reason"] == "llm_output_invalid"]
    assert invalid and all(row["stage"] == "llm" and "raw: " in row["detail"] for row in invalid)


def test_the_openai_backend_through_figcurate_run(corpus, tmp_path, ray_local):
    """`figcurate run` with the openai backend against `transformers serve` on loopback (a scripted
    tiny model that answers every task validly): every sample carries the server's answers."""
    model = write_scripted_llama(tmp_path / "scripted").resolve()
    output = tmp_path / "out"
    with served(model) as base:
        config = llm_config(tmp_path, corpus, output, backend="openai", model=str(model), allow_untrained=False,
                            tasks=["recaption", "instruct", "judge"], max_text_chars=100, max_attempts=1, openai={"url": f"{base}/v1/chat/completions"})  # fmt: skip
        path = tmp_path / "openai.yaml"
        path.write_text(yaml.safe_dump(json.loads(config.model_dump_json())))
        assert main(["run", str(path)]) == 0
    index = pads.dataset(output / "index", format="parquet").to_table().to_pylist()
    assert index and verify_output(output) == []
    for row in index:
        assert row["llm_recaption"] == "A liver section stained with H&E." and row["llm_model"] == str(model)
        assert (row["llm_judge_informativeness"], row["llm_judge_consistency"]) == (4, 5) and row["llm_untrained"] is False
        assert row["llm_prompt_versions"] == ["recaption.v1", "instruct.v1", "judge.v1"]
