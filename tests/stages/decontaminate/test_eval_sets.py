import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pydantic import ValidationError

from pipeline.demo_corpus.painters import PAINTERS
from stages.decontaminate.eval_sets import build_index, read_questions
from stages.decontaminate.stage import DecontaminateSpec, EvalSet
from stages.dedup.hashing import pixel_sha256, probe_hashes
from stages.images.stage import ImagesSpec, decode_image, normalise

IMAGES = ImagesSpec()


def panel(seed: int, size=(240, 200)) -> Image.Image:
    return PAINTERS["histology"](np.random.default_rng(seed), *size).convert("RGB")


def as_sample(image: Image.Image) -> tuple[str, list[int]]:
    """What image_hashes records for this picture after the images stage."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    decoded, *_ = decode_image(buffer.getvalue(), IMAGES.max_pixels, target_side=IMAGES.max_side)
    _, encoded = normalise(decoded, IMAGES)
    stored = Image.open(io.BytesIO(encoded))
    stored.load()
    return pixel_sha256(stored), probe_hashes(stored)


def index_of(tmp_path, *, questions=None, images=True, ngram_words=8, min_question_words=5):
    folder = tmp_path / "eval"
    folder.mkdir(exist_ok=True)
    if images:
        panel(1).save(folder / "one.png")
        panel(2).save(folder / "two.jpg", quality=95)
    question_file = None
    if questions is not None:
        question_file = tmp_path / "q.txt"
        question_file.write_text("\n".join(questions))
    eval_set = EvalSet(name="demo", images=folder if images else None, questions=question_file)
    return build_index([eval_set], IMAGES, ngram_words, min_question_words)


def test_exact_and_near_images_match_unrelated_do_not(tmp_path):
    index = index_of(tmp_path)
    assert index.item_names == ["demo/one.png", "demo/two.jpg"]
    sha, probes = as_sample(panel(1))
    assert index.image_match(sha, probes, 6) == ("demo", "same pixels as demo/one.png")
    sha, probes = as_sample(panel(2).resize((180, 150)))
    match = index.image_match(sha, probes, 6)
    assert match is not None and match[0] == "demo" and match[1].endswith("bits from demo/two.jpg")
    sha, probes = as_sample(panel(3))
    assert index.image_match(sha, probes, 6) is None


def test_questions_match_by_ngrams_and_short_ones_whole(tmp_path):
    index = index_of(tmp_path, images=False, questions=[
        "What abnormality is seen in the left lower lobe of the lung on this scan?",
        "Is this an MRI of the brain?",  # 7 words: must appear whole
        "Is it normal?",  # 3 words: ignored
    ])
    assert index.text_match("Arrows: abnormality is seen in the left lower lobe of the lung (B).")[0] == "demo"
    assert index.text_match("Abnormality seen in the left lower lobe.") is None  # 7 words only, and not in order
    assert index.text_match("We asked: is this an MRI of the brain? Yes.")[0] == "demo"
    assert index.text_match("This MRI of the brain shows") is None
    assert index.text_match("Is it normal? We think so.") is None


def test_question_files_and_parquet_images(tmp_path):
    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "a b c"}) + "\n\n" + json.dumps({"question": "d e f"}))
    pq.write_table(pa.table({"question": ["x", None, "y"]}), tmp_path / "q.parquet")
    assert read_questions(tmp_path / "q.jsonl") == ["a b c", "d e f"]
    assert read_questions(tmp_path / "q.parquet") == ["x", "y"]
    buffer = io.BytesIO()
    panel(4).save(buffer, "PNG")
    pq.write_table(pa.table({"image": [buffer.getvalue(), b"not an image"]}), tmp_path / "images.parquet")
    index = build_index([EvalSet(name="pq", images=tmp_path / "images.parquet")], IMAGES, 8, 5)
    assert index.item_names == ["pq/row 0"] and index.skipped == {"pq": 1}


def test_config_is_checked(tmp_path):
    with pytest.raises(ValidationError, match="path does not exist"):
        EvalSet(name="x", images=tmp_path / "missing")
    with pytest.raises(ValidationError, match="needs images, questions or both"):
        EvalSet(name="x")
    (tmp_path / "q.csv").write_text("q")
    with pytest.raises(ValidationError, match=r"\.txt, \.jsonl or \.parquet"):
        EvalSet(name="x", questions=tmp_path / "q.csv")
    with pytest.raises(ValidationError, match="lists no eval_sets"):
        DecontaminateSpec(enabled=True)
    folder = tmp_path / "f"
    folder.mkdir()
    with pytest.raises(ValidationError, match="unique"):
        DecontaminateSpec(eval_sets=[EvalSet(name="a", images=folder), EvalSet(name="a", images=folder)])
