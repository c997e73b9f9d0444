"""Stage ``subcaptions``: split the caption, align it with the panels, emit one sample per panel.

A figure whose panels and caption agree becomes one row per panel (``panel_index`` 1.., its own
sample key, the panel cropped from the normalised image, its subcaption); any other figure stays
one row with its full caption and ``alignment`` saying why (``single`` or ``none``). ``emit``
chooses what an aligned figure yields: its panels, the whole figure, or both. Every row carries
``parent_key``, the figure's own sample key, so panels and their figure group together.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import Literal

from PIL import Image
from pydantic import Field

from schemas.keys import sample_key
from schemas.records import PANEL
from stages.images.pixels import pixels_of
from stages.runtime.base import Row, Stage, StageSpec
from stages.subcaptions.align import Alignment, align, figure_number, mentioned_letters
from stages.subcaptions.confidence import caption_confidence
from stages.subcaptions.llm_split import LlmSplitSettings, LlmSplitter, routed
from stages.subcaptions.split import split_caption


class SubcaptionsSpec(StageSpec):
    min_panel_side: int = Field(32, ge=1, description="panels whose crop has a shorter side below this are dropped")
    jpeg_quality: int = Field(90, ge=50, le=100)
    min_split_confidence: float = Field(
        0.5, ge=0, le=1,
        description="a figure whose panel split is less sure than this stays whole with its full caption "
        "(alignment none); the subfigures stage records the confidence",
    )
    min_subcaption_confidence: float = Field(
        0.5, ge=0, le=1,
        description="a figure whose caption split is less sure than this (stages/subcaptions/confidence.py) "
        "stays whole with its full caption (alignment none)",
    )
    llm_splitter: LlmSplitSettings = Field(
        LlmSplitSettings(), description="an LLM that splits the captions the rules are unsure of (stages/subcaptions/llm_split.py)"
    )
    emit: Literal["panels", "figures", "both"] = Field(
        "panels",
        description="what an aligned compound figure yields: one sample per panel, the whole figure "
        "(panel_index null, full caption), or both; figures that are not aligned always stay whole",
    )


class Subcaptions(Stage):
    name = "subcaptions"
    spec_type = SubcaptionsSpec
    output_schema = PANEL
    optional = True
    uses_pixels = True

    def __init__(self, spec: SubcaptionsSpec, context):
        super().__init__(spec, context)
        self.llm = LlmSplitter(spec.llm_splitter) if spec.llm_splitter.enabled else None

    def process(self, row: Row) -> Iterable[Row]:
        boxes = row.get("panel_boxes") or []
        split = split_caption(row["caption"])
        mentions = mentioned_letters(row["mentions"] or [], figure_number(row["label"]))
        sure = caption_confidence(split)
        aligned = align(len(boxes), split, mentions)
        aligned, by_llm, note = self._by_llm(row["caption"], aligned, sure)
        result = self._unless_unsure(aligned, row.get("split_confidence"), None if by_llm else sure)
        row = {**row, "parent_key": row["sample_key"], "subcaption_confidence": None if sure is None else sure[0]}
        if result.method in ("single", "none"):
            detail = "; ".join(part for part in (result.reason, note) if part)
            yield {**row, "alignment": result.method, "alignment_detail": detail or None}
            return
        if self.spec.emit in ("figures", "both"):
            yield {**row, "alignment": result.method, "alignment_detail": note or None}
        if self.spec.emit == "figures":
            return
        image = pixels_of(row)
        for index, (box, label, subcaption) in enumerate(zip(boxes, result.labels, result.subcaptions), start=1):
            panel = {
                **row,
                "panel_index": index,
                "sample_key": sample_key(row["pmcid"], row["version"], row["figure_index"], index),
                "panel_box": box,
                "panel_label": label,
                "subcaption": subcaption,
                "alignment": result.method,
                "alignment_detail": note or None,
            }
            yield self._crop(panel, image, box)

    def _by_llm(self, caption: str, result: Alignment, sure: tuple[float, list[str]] | None) -> tuple[Alignment, bool, str]:
        """The LLM's subcaptions for an aligned figure it is routed to, when they pass the check;
        else the rules' (and why, for the detail)."""
        if self.llm is None or result.method in ("single", "none"):
            return result, False, ""
        if not routed(self.spec.llm_splitter.route, sure, self.spec.min_subcaption_confidence):
            return result, False, ""
        texts, why = self.llm.split(caption, list(result.labels))
        if texts is None:
            return result, False, f"llm splitter ({self.llm.label}) not used: {why}"
        return Alignment(result.method, result.labels, tuple(texts[label] for label in result.labels)), True, f"subcaptions by {self.llm.label}"

    def _unless_unsure(self, result: Alignment, split_confidence: float | None, sure: tuple[float, list[str]] | None) -> Alignment:
        """An aligned figure stays whole when its panel split or its caption split is less sure than configured."""
        if result.method in ("single", "none"):
            return result
        whole = (None,)
        if split_confidence is not None and split_confidence < self.spec.min_split_confidence:
            return Alignment("none", whole, whole, f"panel split confidence {split_confidence:.2f} below {self.spec.min_split_confidence}")
        if sure is not None and sure[0] < self.spec.min_subcaption_confidence:
            detail = f"subcaption confidence {sure[0]:.2f} below {self.spec.min_subcaption_confidence}: {', '.join(sure[1])}"
            return Alignment("none", whole, whole, detail)
        return result

    def _crop(self, row: Row, image: Image.Image, box: list[int]) -> Row:
        scale = row["image_width"] / row["source_width"]
        crop_box = tuple(round(v * scale) for v in box)
        crop = image.crop(crop_box)
        if min(crop.size) < self.spec.min_panel_side:
            return self.dropped(row, "panel_too_small", f"panel {row['panel_index']} is {crop.width}x{crop.height}")
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=self.spec.jpeg_quality)
        encoded = buffer.getvalue()
        return {
            **row,
            "image": encoded,
            "image_width": crop.width,
            "image_height": crop.height,
            "image_sha256": hashlib.sha256(encoded).hexdigest(),
            "pixels": crop.tobytes(),
        }
