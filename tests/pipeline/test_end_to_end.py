"""A real run on a local Ray instance over a generated corpus whose truth is known."""

import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pytest
import webdataset as wds
from PIL import Image

from pipeline import runner
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus, load_truth
from schemas.keys import article_key, sample_key

pytestmark = pytest.mark.slow

ARTICLES = 14


def run_config(tmp_path: Path, corpus: Path, output: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: e2e\nsource: {{kind: local, root: {corpus}}}\n"
        f"output: {{path: {output}, articles_per_shard: 5}}\n"
        "stages: {images: {max_side: 256, min_side: 48, batch_size: 4}, fetch: {batch_size: 2},"
        " subfigures: {enabled: false}, subcaptions: {enabled: false}}\n"
    )
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, articles=ARTICLES, seed=3)
    return root


@pytest.fixture(scope="module")
def expected(corpus):
    articles, figures = load_truth(corpus)
    newest = [a for a in articles if a["newest"]]
    dropped_articles = {(a["pmcid"], a["version"]): a["expected_drop"] for a in newest if a["expected_drop"]}
    samples, rejects = {}, set()
    for article, drop in dropped_articles.items():
        rejects.add((article_key(*article), drop["stage"], drop["reason"]))
    for fig in figures:
        if not fig["newest"] or (fig["pmcid"], fig["version"]) in dropped_articles:
            continue
        key = sample_key(fig["pmcid"], fig["version"], fig["figure_index"])
        if fig["expected_drop"]:
            rejects.add((key, fig["expected_drop"]["stage"], fig["expected_drop"]["reason"]))
        else:
            samples[key] = fig
    return {"samples": samples, "rejects": rejects, "articles": len(newest)}


@pytest.fixture(scope="module")
def run_output(corpus, tmp_path_factory, ray_local):
    tmp_path = tmp_path_factory.mktemp("run")
    output = tmp_path / "out"
    config = load_config(run_config(tmp_path, corpus, output))
    stats = runner.run(config)
    return output, stats, config


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
    assert list(funnel) == ["fetch", "parse_jats", "fetch_media", "images", "shard_writer"]
    assert funnel["fetch"]["in"] == expected["articles"]
    for name in ("fetch", "fetch_media", "images"):  # stages that do not fan out
        assert funnel[name]["in"] - sum(funnel[name]["dropped"].values()) == funnel[name]["out"]
    assert funnel["shard_writer"]["out"] == len(expected["samples"])
    sizes = json.loads((output / "shards" / "sizes.json").read_text())
    assert sum(sizes.values()) == len(expected["samples"])
    assert set(sizes) == {p.name for p in (output / "shards").glob("*.tar")}
    summary = runner.summary(stats)
    assert "image_decode_error" in summary and str(output / "shards") in summary


def test_existing_output_is_refused_and_overwrite_reproduces_identical_shards(run_output):
    output, _, config = run_output
    before = {p.name: p.read_bytes() for p in (output / "shards").glob("*.tar")}
    with pytest.raises(runner.OutputExistsError, match="--overwrite"):
        runner.run(config)
    runner.run(config, overwrite=True)
    after = {p.name: p.read_bytes() for p in (output / "shards").glob("*.tar")}
    assert after == before


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
    assert main(["run", str(config_path), "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def tiny_clip_dir(root: Path) -> Path:
    """A tiny CLIP architecture as an open_clip ``local-dir:`` model (no weights: random init)."""
    model_dir = root / "tiny-clip"
    model_dir.mkdir()
    model_cfg = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    (model_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {}}))
    return model_dir


def test_open_clip_trains_on_the_shards(run_output, tmp_path):
    output, stats, _ = run_output
    n_shards = stats["units"]
    train_data = str(output / "shards" / f"{{000000..{n_shards - 1:06d}}}.tar")
    logs = tmp_path / "logs"
    command = [
        sys.executable, "-m", "open_clip_train.main",
        "--dataset-type", "webdataset", "--train-data", train_data,
        "--model", f"local-dir:{tiny_clip_dir(tmp_path)}",
        "--batch-size", "4", "--epochs", "1", "--workers", "1", "--device", "cpu",
        "--lr", "1e-3", "--warmup", "1", "--log-every-n-steps", "1", "--precision", "fp32",
        "--logs", str(logs), "--name", "tiny", "--report-to", "", "--seed", "0",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    log_text = result.stdout + result.stderr
    assert result.returncode == 0, log_text[-4000:]
    # open_clip took the sample count from sizes.json and ran the whole epoch with finite losses
    log = (logs / "tiny" / "out.log").read_text()
    seen = 4 * math.ceil(stats["samples"] / 4)
    assert f"[{seen}/{seen} (100%)]" in log
    losses = [float(value) for value in re.findall(r" Loss: ([0-9.]+)", log)]
    assert len(losses) == seen // 4 and all(math.isfinite(loss) for loss in losses)
    assert (logs / "tiny" / "checkpoints" / "epoch_1.pt").is_file()
