"""Decontamination in a real run: every planted evaluation copy is removed, and nothing else."""

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import run_config
from corpus_edits import jpeg, usable_figures
from PIL import Image

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus
from pipeline.demo_corpus.painters import PAINTERS
from schemas.keys import sample_key
from stages.decontaminate.eval_sets import words

pytestmark = pytest.mark.slow


def key(figure: dict) -> str:
    return sample_key(figure["pmcid"], figure["version"], figure["figure_index"])


def unique_phrase(figure: dict, others: list[dict], length: int = 9) -> str:
    """``length`` consecutive words of the figure's caption that no other caption holds."""
    tokens = words(figure["caption"])
    elsewhere = [" ".join(words(other["caption"])) for other in others if other is not figure]
    for start in range(len(tokens) - length + 1):
        phrase = " ".join(tokens[start : start + length])
        if not any(phrase in text for text in elsewhere):
            return phrase
    raise AssertionError("no unique phrase")


def test_planted_evaluation_items_are_removed_and_nothing_else(tmp_path, ray_local):
    root = tmp_path / "corpus"
    generate_corpus(root, articles=16, seed=9)
    figures = usable_figures(root)
    picture = {key(f): Image.open(root / f"{f['pmcid']}.{f['version']}" / f["media_name"]).convert("RGB") for f in figures}
    exact, reencoded, crop, resized, by_text = figures[1], figures[4], figures[7], figures[10], figures[13]

    folder = tmp_path / "eval-a"
    folder.mkdir()
    (folder / "exact.jpg").write_bytes((root / f"{exact['pmcid']}.{exact['version']}" / exact["media_name"]).read_bytes())
    (folder / "nested").mkdir()
    (folder / "nested" / "reencoded.jpg").write_bytes(jpeg(picture[key(reencoded)], 55))
    image = picture[key(crop)]
    w, h = image.size
    image.crop((round(0.04 * w), 0, w, h - round(0.02 * h))).save(folder / "crop.png")
    for seed in range(30):  # unrelated evaluation images
        rng = np.random.default_rng(seed)
        PAINTERS[list(PAINTERS)[seed % len(PAINTERS)]](rng, 220, 180).convert("RGB").save(folder / f"other-{seed}.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    small = picture[key(resized)].resize((picture[key(resized)].width // 2, picture[key(resized)].height // 2), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    pq.write_table(pa.table({"id": ["q17"], "image": [buffer.getvalue()]}), tmp_path / "eval-b.parquet")
    phrase = unique_phrase(by_text, figures)
    questions = [{"question": f"Which finding is shown: {phrase}?"}, {"question": "Is there a fracture of the left femur in this radiograph?"}]
    (tmp_path / "eval-b.jsonl").write_text("\n".join(json.dumps(q) for q in questions))

    config_path = run_config(tmp_path, root, tmp_path / "out")
    config_path.write_text(
        config_path.read_text().rstrip().removesuffix("}")
        + f", decontaminate: {{enabled: true, eval_sets: [{{name: set-a, images: {folder}}},"
        f" {{name: set-b, images: {tmp_path / 'eval-b.parquet'}, questions: {tmp_path / 'eval-b.jsonl'}}}]}}}}\n"
    )
    stats = runner.run(load_config(config_path))

    rejects = [r for r in pq.read_table(tmp_path / "out" / "rejects").to_pylist() if r["stage"] == "decontaminate"]
    removed = {r["key"]: r["detail"] for r in rejects}
    assert set(removed) == {key(exact), key(reencoded), key(crop), key(resized), key(by_text)}
    assert removed[key(exact)] == "eval set set-a: same pixels as set-a/exact.jpg"
    assert removed[key(reencoded)].startswith("eval set set-a:") and "set-a/nested/reencoded.jpg" in removed[key(reencoded)]
    assert "set-a/crop.png" in removed[key(crop)]
    assert "set-b/q17" in removed[key(resized)]
    assert removed[key(by_text)].startswith(f"eval set set-b: shares '{phrase[:20]}")
    assert {r["reason"] for r in rejects} == {"eval_overlap"}
    assert stats["eval_overlap"] == {"set-a": 3, "set-b": 2}
    kept = set(pq.read_table(tmp_path / "out" / "index").column("sample_key").to_pylist())
    assert kept == {key(f) for f in figures} - set(removed)
