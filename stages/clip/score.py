"""Stage ``clip_score`` (actor pool, GPU when given): cosine similarity of image and caption.

The model is loaded once per actor. Rows arrive with the image tensor already made by
``clip_preprocess``; texts go through the model's own tokenizer and context length. A batch
that fails as a whole is retried row by row, so one bad record becomes a reject, not a failed
batch. On GPU the forward pass runs under bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from schemas.records import SCORED
from stages.clip.model import ClipModelSettings, load, model_label
from stages.clip.preprocess import ClipPreprocessSpec
from stages.clip.zero_shot import ZeroShotTypes
from stages.runtime.base import Row, Stage, StageSpec


class ClipScoreSpec(StageSpec):
    enabled: bool = False
    clip: ClipModelSettings = ClipModelSettings()
    min_score: float | None = Field(None, ge=-1, le=1, description="drop pairs whose cosine similarity is below this")
    embeddings: bool = Field(False, description="also write image and text embeddings to embeddings/<unit>.parquet")
    keep_top_fraction: float | None = Field(
        None, gt=0, le=1, description="keep this share of the best-scoring pairs of the whole run (cut-off calibrated first)"
    )
    calibration_units: int | None = Field(
        None, ge=1, description="work units (spread over the run) scored to find the keep_top_fraction cut-off; null: all (exact)"
    )
    batch_size: int = 64
    num_gpus: float = 0.0
    transfer_dtype: Literal["float16", "float32"] = Field(
        "float16", description="dtype of the image tensors handed from the CPU preprocessing tasks to the model"
    )
    preprocess_num_cpus: float = Field(1.0, gt=0, description="CPUs per preprocessing task (decode, resize, crop)")
    preprocess_batch_size: int = Field(32, ge=1)
    zero_shot_figure_types: bool = Field(
        False, description="also label each image with a figure type by zero-shot prompts of the taxonomy "
        "(clip_figure_type); samples whose caption gave no type evidence take it as their figure_type (source clip)",
    )

    @model_validator(mode="after")
    def _one_filter(self) -> ClipScoreSpec:
        if self.min_score is not None and self.keep_top_fraction is not None:
            raise ValueError("set min_score or keep_top_fraction, not both")
        return self


class ClipScore(Stage):
    name = "clip_score"
    spec_type = ClipScoreSpec
    output_schema = SCORED
    execution = "actor"
    optional = True

    @classmethod
    def companions(cls, spec: ClipScoreSpec) -> list[tuple[str, StageSpec]]:
        preprocess = ClipPreprocessSpec(
            clip=spec.clip,
            transfer_dtype=spec.transfer_dtype,
            num_cpus=spec.preprocess_num_cpus,
            batch_size=spec.preprocess_batch_size,
        )
        return [("clip_preprocess", preprocess)]

    def __init__(self, spec: ClipScoreSpec, context):
        super().__init__(spec, context)
        import torch

        self.torch = torch
        self.device = "cuda" if spec.num_gpus > 0 and torch.cuda.is_available() else "cpu"
        self.model, self.transform, self.tokenizer, has_weights = load(spec.clip, device=self.device)
        self.label = model_label(spec.clip, has_weights)
        self.zero_shot = ZeroShotTypes(self.model, self.tokenizer, self.device) if spec.zero_shot_figure_types else None

    def _process_all(self, rows: list[Row]) -> Iterator[Row]:
        scorable, rejected = [], []
        for row in rows:
            if not pair_text(row):
                rejected.append(self.dropped(row, "caption_missing", "nothing to score the image against"))
            elif not row.get("clip_pixels"):
                rejected.append(self.dropped(row, "image_decode_error", "no preprocessed image tensor"))
            else:
                scorable.append(row)
        yield from rejected
        try:
            scores, image_features, text_features = self.encode(scorable) if scorable else ([], [], [])
        except Exception:  # noqa: BLE001 - isolate the bad record by scoring one at a time
            yield from super()._process_all(scorable)
            return
        types = self.zero_shot.label(image_features) if self.zero_shot and scorable else [None] * len(scorable)
        for row, score, image, text, figure_type in zip(scorable, scores, image_features, text_features, types):
            yield from self._finish(row, float(score), image, text, figure_type)

    def process(self, row: Row):
        scores, image_features, text_features = self.encode([row])
        figure_type = self.zero_shot.label(image_features)[0] if self.zero_shot else None
        yield from self._finish(row, float(scores[0]), image_features[0], text_features[0], figure_type)

    def _finish(self, row: Row, score: float, image: np.ndarray, text: np.ndarray, figure_type: tuple[str, float] | None) -> Iterator[Row]:
        out = {k: v for k, v in row.items() if k not in ("clip_pixels", "clip_pixels_dtype")}
        out.update(clip_score=score, clip_model=self.label)
        if figure_type is not None:
            out.update(clip_figure_type=figure_type[0], clip_figure_type_confidence=figure_type[1])
            if out.get("figure_type_source") in (None, "none"):  # the caption said nothing about the type
                out.update(figure_type=figure_type[0], figure_type_source="clip", figure_type_confidence=figure_type[1])
        if self.spec.embeddings:
            out.update(image_embedding=image.tolist(), text_embedding=text.tolist())
        if self.spec.min_score is not None and score < self.spec.min_score:
            yield self.dropped(out, "clip_below_threshold", f"score {score:.4f} < min_score {self.spec.min_score}")
        else:
            yield out

    def encode(self, rows: list[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cosine scores, normalised image embeddings, normalised text embeddings) of the rows' pairs."""
        torch = self.torch
        dtype = getattr(torch, rows[0]["clip_pixels_dtype"])
        images = torch.stack([torch.frombuffer(bytearray(r["clip_pixels"]), dtype=dtype) for r in rows])
        size = int(round((images.shape[1] / 3) ** 0.5))
        images = images.view(len(rows), 3, size, size).to(self.device, dtype=torch.float32)
        texts = self.tokenizer([pair_text(r) for r in rows]).to(self.device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device == "cuda"):
            image_features = self.model.encode_image(images, normalize=True)
            text_features = self.model.encode_text(texts, normalize=True)
        image_features, text_features = image_features.float(), text_features.float()
        scores = (image_features * text_features).sum(dim=-1)
        return scores.cpu().numpy(), image_features.cpu().numpy(), text_features.cpu().numpy()


def pair_text(row: Row) -> str:
    """The text a sample's image is scored against: its subcaption when it is an aligned panel."""
    return (row.get("subcaption") or row.get("caption") or "").strip()
