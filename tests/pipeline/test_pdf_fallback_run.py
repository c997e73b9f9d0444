"""A figure whose media file is missing is taken from the article's PDF, by its label."""

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
from builders import run_config
from corpus_edits import attach_pdf, figure_pdf, remove_media
from PIL import Image

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus, load_truth
from pipeline.demo_corpus.painters import PAINTERS
from schemas.keys import sample_key

pytestmark = pytest.mark.slow


def test_missing_media_comes_from_the_pdf_and_a_pdf_without_the_label_is_a_drop(tmp_path, ray_local):
    root = tmp_path / "corpus"
    generate_corpus(root, articles=14, seed=3)
    _, figures = load_truth(root)
    missing = next(f for f in figures if f["newest"] and (f["expected_drop"] or {}).get("reason") == "fetch_not_found")
    picture = PAINTERS["histology"](np.random.default_rng(4), 480, 320).convert("RGB")
    attach_pdf(root, missing, figure_pdf(picture, f"{missing['label']}. {missing['caption'][:60]}"))
    other = next(f for f in figures if f["newest"] and f["pmcid"] != missing["pmcid"] and not f["expected_drop"])
    remove_media(root, other)
    attach_pdf(root, other, figure_pdf(picture, "Table 1. Not the figure anyone asked for."))

    runner.run(load_config(run_config(tmp_path, root, tmp_path / "out")))

    index = {row["sample_key"]: row for row in pq.read_table(tmp_path / "out" / "index").to_pylist()}
    key = sample_key(missing["pmcid"], missing["version"], missing["figure_index"])
    assert index[key]["media_source"] == "pdf" and index[key]["pdf_key"].endswith(".pdf")
    assert {row["media_source"] for k, row in index.items() if k != key} == {"file"}  # a PDF never replaces a file that exists
    rejects = {r["key"]: r for r in pq.read_table(tmp_path / "out" / "rejects").to_pylist()}
    assert key not in rejects
    other_key = sample_key(other["pmcid"], other["version"], other["figure_index"])
    assert (rejects[other_key]["stage"], rejects[other_key]["reason"]) == ("fetch_media", "pdf_figure_not_found")
    assert other["label"] in rejects[other_key]["detail"]
    sample = np.asarray(Image.open(io.BytesIO(_shard_image(tmp_path / "out", index[key]["shard"], key))).convert("L").resize((64, 64)), np.float32)
    planted = np.asarray(picture.convert("L").resize((64, 64)), np.float32)
    assert np.corrcoef(sample.ravel(), planted.ravel())[0, 1] > 0.95


def _shard_image(output, shard, key) -> bytes:
    import tarfile

    with tarfile.open(output / "shards" / shard) as tar:
        return tar.extractfile(f"{key}.jpg").read()
