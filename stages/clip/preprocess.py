"""Stage ``clip_preprocess`` (CPU tasks): decode and transform images into the model's input tensor.

Decoding and resizing are what usually starve a CLIP GPU; doing them in CPU tasks ahead of the
model actors lets the GPU see ready tensors. The tensor travels as raw bytes in ``clip_pixels``
(float16 by default: half the transfer, and the model runs in bf16/fp16 on GPU anyway).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Literal

from PIL import Image

from schemas.records import CLIP_INPUT
from stages.clip.model import ClipModelSettings, load
from stages.runtime.base import Drop, Row, Stage, StageSpec


class ClipPreprocessSpec(StageSpec):
    clip: ClipModelSettings = ClipModelSettings()
    transfer_dtype: Literal["float16", "float32"] = "float16"


class ClipPreprocess(Stage):
    name = "clip_preprocess"
    spec_type = ClipPreprocessSpec
    output_schema = CLIP_INPUT
    configurable = False  # planned by clip_score, from its settings

    def __init__(self, spec: ClipPreprocessSpec, context):
        super().__init__(spec, context)
        _, self.transform, _, _ = load(spec.clip)

    def process(self, row: Row) -> Iterable[Row]:
        import torch

        if not row.get("image"):
            raise Drop("image_decode_error", "no normalised image to score")
        try:
            image = Image.open(io.BytesIO(row["image"])).convert("RGB")
        except OSError as error:
            raise Drop("image_decode_error", str(error)) from None
        tensor = self.transform(image).to(getattr(torch, self.spec.transfer_dtype)).contiguous()
        yield {**row, "clip_pixels": tensor.numpy().tobytes(), "clip_pixels_dtype": self.spec.transfer_dtype}
