import numpy as np
import pyarrow as pa
import pytest
import torch
from builders import TINY_CLIP, context, figure_row, image_bytes
from PIL import Image

from schemas.records import SAMPLE, SCORED
from stages.clip.model import ClipModelSettings, load
from stages.clip.preprocess import ClipPreprocess
from stages.clip.score import ClipScore, ClipScoreSpec

SETTINGS = ClipModelSettings(model=f"local-dir:{TINY_CLIP}", allow_untrained=True)
CAPTIONS = ["Confocal images of zebrafish heart.", "Western blot of Nrf2.", "CT scan of the chest.", "Bar chart of growth.", "H&E staining of liver.", "MRI of the brain."]


def sample_table(n=6) -> pa.Table:
    rows = []
    for i in range(n):
        row = figure_row(i + 1, caption=CAPTIONS[i % len(CAPTIONS)], image=image_bytes((64 + 8 * i, 48), color=(40 * i, 200 - 30 * i, 90)))
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SAMPLE)


def run_clip(table: pa.Table, **spec) -> list[dict]:
    spec = ClipScoreSpec(enabled=True, clip=SETTINGS, **spec)
    ((helper, helper_spec),) = ClipScore.companions(spec)
    assert helper == "clip_preprocess"
    preprocessed = ClipPreprocess(helper_spec, context())(table)
    scored = ClipScore(spec, context())(preprocessed)
    assert scored.schema == SCORED
    return scored.to_pylist()


def reference_score(row: dict) -> float:
    model, transform, tokenizer, _ = load(SETTINGS)
    image = transform(Image.open(__import__("io").BytesIO(row["image"])).convert("RGB")).unsqueeze(0)
    with torch.inference_mode():
        a = model.encode_image(image, normalize=True)
        b = model.encode_text(tokenizer([row["caption"]]), normalize=True)
    return float((a * b).sum())


def test_each_score_is_the_models_score_for_that_pair():
    table = sample_table()
    rows = run_clip(table, transfer_dtype="float32")
    by_key = {row["sample_key"]: row for row in rows}
    for source in table.to_pylist():
        assert by_key[source["sample_key"]]["clip_score"] == pytest.approx(reference_score(source), abs=1e-5)
    assert all(row["clip_model"].endswith("(untrained)") for row in rows)
    assert "clip_pixels" not in rows[0]


def test_scores_do_not_depend_on_batch_size_or_order():
    table = sample_table()
    together = {r["sample_key"]: r["clip_score"] for r in run_clip(table, transfer_dtype="float32")}
    reversed_table = table.take(list(range(table.num_rows - 1, -1, -1)))
    backwards = {r["sample_key"]: r["clip_score"] for r in run_clip(reversed_table, transfer_dtype="float32")}
    alone = {r["sample_key"]: r["clip_score"] for i in range(table.num_rows) for r in run_clip(table.slice(i, 1), transfer_dtype="float32")}
    for key, score in together.items():
        assert backwards[key] == pytest.approx(score, abs=1e-5)
        assert alone[key] == pytest.approx(score, abs=1e-5)


def test_half_precision_transfer_stays_close():
    full = {r["sample_key"]: r["clip_score"] for r in run_clip(sample_table(), transfer_dtype="float32")}
    half = {r["sample_key"]: r["clip_score"] for r in run_clip(sample_table(), transfer_dtype="float16")}
    assert max(abs(full[k] - half[k]) for k in full) < 1e-2


def test_threshold_drops_exactly_the_pairs_below_it():
    scores = sorted(r["clip_score"] for r in run_clip(sample_table()))
    cut = (scores[2] + scores[3]) / 2
    rows = run_clip(sample_table(), min_score=cut)
    dropped = [r for r in rows if r["drop_reason"]]
    assert len(dropped) == 3 and {r["drop_reason"] for r in dropped} == {"clip_below_threshold"}
    assert all(r["clip_score"] < cut for r in dropped)
    assert all(r["clip_score"] >= cut for r in rows if not r["drop_reason"])


def test_empty_caption_and_broken_image_become_rejects_not_a_failed_batch():
    rows = sample_table().to_pylist()
    rows[1]["caption"] = "  "
    rows[2]["image"] = b"not an image"
    out = {r["figure_index"]: r for r in run_clip(pa.Table.from_pylist(rows, schema=SAMPLE))}
    assert out[2]["drop_reason"] == "caption_missing" and out[2]["drop_stage"] == "clip_score"
    assert out[3]["drop_reason"] == "image_decode_error" and out[3]["drop_stage"] == "clip_preprocess"
    assert all(out[i]["drop_reason"] is None and out[i]["clip_score"] is not None for i in (1, 4, 5, 6))


def test_untrained_model_is_refused_unless_allowed():
    with pytest.raises(ValueError, match="has no weights"):
        load(ClipModelSettings(model=f"local-dir:{TINY_CLIP}"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pairing_on_gpu_matches_cpu_reference():
    rows = run_clip(sample_table(), transfer_dtype="float32", num_gpus=1)
    table = sample_table().to_pylist()
    for row, source in zip(sorted(rows, key=lambda r: r["sample_key"]), table):
        assert row["clip_score"] == pytest.approx(reference_score(source), abs=2e-2)  # bf16 autocast
    assert np.isfinite([r["clip_score"] for r in rows]).all()


def test_embeddings_are_normalised_and_give_the_score():
    rows = run_clip(sample_table(), transfer_dtype="float32", embeddings=True)
    for row in rows:
        image, text = np.array(row["image_embedding"]), np.array(row["text_embedding"])
        assert image.shape == text.shape == (32,)
        assert np.linalg.norm(image) == pytest.approx(1, abs=1e-5) and np.linalg.norm(text) == pytest.approx(1, abs=1e-5)
        assert float(image @ text) == pytest.approx(row["clip_score"], abs=1e-5)
    assert run_clip(sample_table())[0]["image_embedding"] is None


def test_zero_shot_types_are_the_models_nearest_prompt_ensemble():
    from stages.clip.zero_shot import ZeroShotTypes
    from stages.figure_type.taxonomy import TAXONOMY

    table = sample_table()
    rows = [{**row, "figure_type": "gel_blot", "figure_type_source": "caption", "figure_type_confidence": 0.9} for row in table.to_pylist()]
    rows[0].update(figure_type="other", figure_type_source="none", figure_type_confidence=0.0)
    scored = {r["sample_key"]: r for r in run_clip(pa.Table.from_pylist(rows, schema=SAMPLE.append(pa.field("figure_type", pa.string())).append(pa.field("figure_type_source", pa.string())).append(pa.field("figure_type_confidence", pa.float32()))), transfer_dtype="float32", zero_shot_figure_types=True)}
    model, transform, tokenizer, _ = load(SETTINGS)
    names = [entry.name for entry in TAXONOMY if entry.clip_prompts]
    for source in rows:
        with torch.inference_mode():
            image = model.encode_image(transform(Image.open(__import__("io").BytesIO(source["image"])).convert("RGB")).unsqueeze(0), normalize=True)
            similarities = []
            for entry in TAXONOMY:
                if entry.clip_prompts:
                    mean = model.encode_text(tokenizer(list(entry.clip_prompts)), normalize=True).mean(dim=0)
                    similarities.append(float((image[0] * mean / mean.norm()).sum()))
        row = scored[source["sample_key"]]
        assert row["clip_figure_type"] == names[int(np.argmax(similarities))]
        assert 0 < row["clip_figure_type_confidence"] <= 1
    first = scored[rows[0]["sample_key"]]
    assert (first["figure_type"], first["figure_type_source"]) == (first["clip_figure_type"], "clip")  # no caption evidence
    assert all(scored[r["sample_key"]]["figure_type_source"] == "caption" for r in rows[1:])  # caption labels stay
    assert ZeroShotTypes(model, tokenizer, "cpu").names == names and "other" in names
