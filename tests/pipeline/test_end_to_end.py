"""A real run on a local Ray instance over a generated corpus whose truth is known (fixtures in conftest.py)."""

import io
import json
import math

import numpy as np
import pyarrow.dataset as pads
import pytest
import webdataset as wds
from builders import TINY_CLIP, epoch_ran_whole, run_config, scrape_ray_metrics, train_open_clip
from PIL import Image

from pipeline import runner
from pipeline.cli import main
from pipeline.config import load_config

pytestmark = pytest.mark.slow

def test_every_expected_sample_and_no_other(run_output, expected):
    output, stats, _ = run_output
    index = pads.dataset(output / "index", format="parquet").to_table()
    keys = index.column("sample_key").to_pylist()
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(expected["samples"])
    assert stats["samples"] == len(expected["samples"])


def test_rejects_are_exactly_the_broken_inputs(run_output, expected):
    output, stats, _ = run_output
    rejects = pads.dataset(output / "rejects", format="parquet").to_table()
    found = set(zip(*(rejects.column(c).to_pylist() for c in ("key", "stage", "reason"))))
    assert found == expected["rejects"]
    # every kind of broken input the generator plants shows up
    assert {reason for _, _, reason in found} >= {
        "xml_malformed", "no_figures", "caption_missing", "fetch_not_found",
        "fetch_checksum_mismatch", "image_decode_error", "image_too_small",
    }
    assert sum(stats["drops_by_reason"].values()) == len(found)


def test_shards_hold_each_sample_with_its_own_caption_and_image(run_output, expected, corpus):
    output, stats, _ = run_output
    shards = sorted(str(p) for p in (output / "shards").glob("*.tar"))
    assert len(shards) == -(-expected["articles"] // 5)
    seen = set()
    for sample in wds.WebDataset(shards, shardshuffle=False):
        key = sample["__key__"]
        truth = expected["samples"][key]
        assert sample["txt"].decode("utf-8") == truth["caption"]
        meta = json.loads(sample["json"])
        assert (meta["key"], meta["pmcid"], meta["fig_id"], meta["label"]) == (key, truth["pmcid"], truth["fig_id"], truth["label"])
        assert meta["license"] in {"CC BY", "CC BY-NC", "CC0", "CC BY-NC-ND", "CC BY-SA"}
        image = Image.open(io.BytesIO(sample["jpg"])).convert("RGB")
        assert max(image.size) <= 256
        source = Image.open(corpus / f"{truth['pmcid']}.{truth['version']}" / truth["media_name"]).convert("RGB")
        assert source.size == (truth["width"], truth["height"])
        reference = np.asarray(source.resize(image.size, Image.Resampling.BILINEAR), dtype=np.float32)
        assert np.abs(np.asarray(image, dtype=np.float32) - reference).mean() < 12, key
        seen.add(key)
    assert seen == set(expected["samples"])


def test_stats_funnel_and_sizes_are_consistent(run_output, expected):
    output, stats, _ = run_output
    on_disk = json.loads((output / "stats.json").read_text())
    assert on_disk["samples"] == stats["samples"]
    funnel = on_disk["stages"]
    assert list(funnel) == ["fetch", "parse_jats", "fetch_media", "images", "filters", "figure_type", "image_hashes", "dedup", "shard_writer"]
    assert funnel["fetch"]["in"] == expected["articles"]
    for name in ("fetch", "fetch_media", "images"):  # stages that do not fan out
        assert funnel[name]["in"] - sum(funnel[name]["dropped"].values()) == funnel[name]["out"]
    assert funnel["shard_writer"]["out"] == len(expected["samples"])
    sizes = json.loads((output / "shards" / "sizes.json").read_text())
    assert sum(sizes.values()) == len(expected["samples"])
    assert set(sizes) == {p.name for p in (output / "shards").glob("*.tar")}
    summary = runner.summary(stats)
    assert "image_decode_error" in summary and str(output / "shards") in summary


def test_rerun_resumes_only_unfinished_units_with_identical_results(run_output, tmp_path):
    output, first, config = run_output
    shards = sorted((output / "shards").glob("*.tar"))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in shards}
    again = runner.run(config)
    assert again["resume"] == {"units_total": first["units"], "units_run": 0, "units_skipped": first["units"], "samples_run": 0}
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in shards} == before
    # an interrupted unit: its record never written, its shard half-written
    (output / "units" / "000001.json").unlink()
    (output / "shards" / "000001.tar").write_bytes(before["000001.tar"][0][:1000])
    resumed = runner.run(config)
    assert resumed["resume"]["units_run"] == 1
    assert resumed["resume"]["samples_run"] == json.loads((output / "units" / "000001.json").read_text())["samples"]
    assert {p.name: p.read_bytes() for p in shards} == {name: data for name, (data, _) in before.items()}
    assert {p.name: p.stat().st_mtime_ns for p in shards if p.name != "000001.tar"} == {
        name: mtime for name, (_, mtime) in before.items() if name != "000001.tar"
    }
    assert resumed["samples"] == first["samples"] and resumed["drops_by_reason"] == first["drops_by_reason"]
    progress = json.loads((output / "progress.json").read_text())
    assert (progress["state"], progress["units_done_before"], progress["units_run"]) == ("finished", first["units"] - 1, 1)
    assert progress["samples"] == first["samples"] and progress["samples_this_run"] == resumed["resume"]["samples_run"]


def test_changed_settings_are_refused_and_overwrite_reproduces_identical_shards(run_output):
    output, _, config = run_output
    before = {p.name: p.read_bytes() for p in (output / "shards").glob("*.tar")}
    changed = config.model_copy(update={"stages": config.stages.model_copy(update={"images": config.stage_spec("images").model_copy(update={"jpeg_quality": 70})})})
    with pytest.raises(runner.OutputExistsError, match=r"changed: stages.images.jpeg_quality"):
        runner.run(changed)
    runner.run(config, overwrite=True)
    assert {p.name: p.read_bytes() for p in (output / "shards").glob("*.tar")} == before


def test_verify_passes_then_detects_a_truncated_shard(run_output, capsys):
    output, _, config = run_output
    assert main(["verify", str(output)]) == 0
    assert "all verified" in capsys.readouterr().out
    shard = output / "shards" / "000000.tar"
    original = shard.read_bytes()
    try:
        shard.write_bytes(original[: len(original) // 2])
        assert main(["verify", str(output)]) == 1
        assert "shards/000000.tar: size or sha256 differs" in capsys.readouterr().out
    finally:
        shard.write_bytes(original)


def test_splits_are_by_article(run_output):
    output, _, _ = run_output
    index = pads.dataset(output / "index", format="parquet").to_table(columns=["pmcid", "split"]).to_pylist()
    by_article: dict[str, set] = {}
    for row in index:
        by_article.setdefault(row["pmcid"], set()).add(row["split"])
    assert all(len(splits) == 1 for splits in by_article.values())
    assert {s for splits in by_article.values() for s in splits} <= {"train", "validation", "test"}


def test_cli_run_with_output_override_prints_the_summary(corpus, tmp_path, ray_local, capsys):
    config_path = run_config(tmp_path, corpus, tmp_path / "ignored")
    config_path.write_text(config_path.read_text().replace("root: " + str(corpus), f"root: {corpus}, max_articles: 3"))
    out = tmp_path / "cli-out"
    assert main(["run", str(config_path), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "figcurate run 'e2e' finished" in printed
    assert f"shards   {out / 'shards' / '000000.tar'}" in printed
    assert not (tmp_path / "ignored").exists()
    assert json.loads((out / "stats.json").read_text())["stages"]["fetch"]["in"] == 3
    assert main(["run", str(config_path), "--output", str(out)]) == 0
    assert "(1 already done, skipped)" in capsys.readouterr().out
    config_path.write_text(config_path.read_text().replace("max_side: 256", "max_side: 200"))
    assert main(["run", str(config_path), "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_open_clip_trains_on_the_shards(run_output, tmp_path):
    output, stats, _ = run_output
    n_shards = stats["units"]
    log = train_open_clip(str(output / "shards" / f"{{000000..{n_shards - 1:06d}}}.tar"), tmp_path / "logs")
    # open_clip took the sample count from sizes.json and ran the whole epoch with finite losses
    assert epoch_ran_whole(log, stats["samples"])


def test_run_with_clip_scoring_on_an_actor_pool(corpus, tmp_path, ray_local):
    config = load_config(run_config(tmp_path, corpus, tmp_path / "clip"))
    clip = {"enabled": True, "clip": {"model": f"local-dir:{TINY_CLIP}", "allow_untrained": True}, "concurrency": 1, "transfer_dtype": "float32", "embeddings": True}
    data = json.loads(config.model_dump_json())
    data["source"]["max_articles"] = 5
    data["stages"]["clip_score"] = clip
    config = type(config).model_validate(data)
    stats = runner.run(config)
    assert list(stats["stages"])[-3:] == ["clip_preprocess", "clip_score", "shard_writer"]
    index = pads.dataset(tmp_path / "clip" / "index", format="parquet").to_table().to_pylist()
    assert len(index) == stats["samples"] > 0
    assert all(-1 <= row["clip_score"] <= 1 and row["clip_model"].endswith("(untrained)") for row in index)
    sample = next(iter(wds.WebDataset(str(tmp_path / "clip" / "shards" / "000000.tar"), shardshuffle=False)))
    meta = json.loads(sample["json"])
    by_key = {row["sample_key"]: row for row in index}
    assert meta["scores"]["clip"] == pytest.approx(by_key[meta["key"]]["clip_score"])
    embeddings = pads.dataset(tmp_path / "clip" / "embeddings", format="parquet").to_table()
    assert sorted(embeddings.column("sample_key").to_pylist()) == sorted(by_key)
    assert "image_embedding" not in index[0]
    again = runner.run(config.with_overrides(output=tmp_path / "clip-again"))
    second = {r["sample_key"]: r["clip_score"] for r in pads.dataset(tmp_path / "clip-again" / "index", format="parquet").to_table().to_pylist()}
    assert second == {key: row["clip_score"] for key, row in by_key.items()}  # same untrained model in every actor
    assert again["samples"] == stats["samples"]


def test_keep_top_fraction_keeps_that_share_of_the_whole_run(corpus, tmp_path, ray_local):
    config = load_config(run_config(tmp_path, corpus, tmp_path / "top"))
    data = json.loads(config.model_dump_json())
    data["source"]["max_articles"] = 6
    data["output"]["articles_per_shard"] = 2
    data["stages"]["clip_score"] = {
        "enabled": True, "clip": {"model": f"local-dir:{TINY_CLIP}", "allow_untrained": True}, "keep_top_fraction": 0.5,
    }  # fmt: skip
    stats = runner.run(type(config).model_validate(data))
    cut = stats["clip_cutoff"]
    scored = stats["stages"]["clip_score"]["in"] - stats["stages"]["clip_score"]["dropped"].get("caption_missing", 0)
    assert cut["exact"] and cut["calibration_samples"] == scored
    assert stats["samples"] == math.ceil(0.5 * scored)
    assert stats["stages"]["clip_score"]["dropped"]["clip_below_threshold"] == scored - stats["samples"]
    index = pads.dataset(tmp_path / "top" / "index", format="parquet").to_table().column("clip_score").to_pylist()
    assert min(index) >= cut["cutoff"] - 1e-6


def test_each_stage_of_a_run_reports_its_rows_to_ray_metrics(run_output):
    output, _, _ = run_output
    stats = json.loads((output / "stats.json").read_text())
    expected = {name: counts["in"] for name, counts in stats["stages"].items() if name != "shard_writer" and counts["in"]}

    def rows_per_stage(lines: list[str]) -> dict[str, float]:
        exported: dict[str, float] = {}
        for line in lines:
            stage = line.split('stage="', 1)[1].split('"', 1)[0]
            exported[stage] = exported.get(stage, 0) + float(line.rsplit(" ", 1)[1])
        return exported

    def all_reported(lines: list[str]) -> bool:
        exported = rows_per_stage(lines)
        return all(exported.get(name, 0) >= rows for name, rows in expected.items())

    exported = rows_per_stage(scrape_ray_metrics("ray_figcurate_stage_rows_in_total", until=all_reported))
    for name, rows in expected.items():
        # counters add up over every run of this test session, so at least this run's rows
        assert exported.get(name, 0) >= rows, (name, exported)
