"""Stage ``subfigures``: find the panels of each figure (boxes in source pixels, reading order).

The count of panels the caption names, where its labels form one run, steers the splitter: of the
layouts the image's gutters allow, it takes one with that count.

The figure row stays one row here; ``subcaptions`` decides, with the caption, whether it becomes
one sample per panel. Optional: a config can disable it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field, model_validator

from schemas.records import PANEL
from stages.images.pixels import pixels_of
from stages.runtime.base import Row, Stage, StageSpec
from stages.subcaptions.align import expected_panels
from stages.subfigures.detector import build_splitter
from stages.subfigures.split import scale_box


class SubfiguresSpec(StageSpec):
    backend: Literal["xycut", "yolo"] = Field("xycut", description="xycut: numpy gutter cuts on CPU; yolo: an operator's detector checkpoint")
    checkpoint: str | None = Field(None, description="path of the detector weights (backend yolo)")
    detector_confidence: float = Field(0.25, gt=0, lt=1, description="minimum box score of the detector")
    work_side: int = Field(1024, ge=128, description="longest side of the grey image the xycut splitter works on")

    @model_validator(mode="after")
    def _checkpoint_for_detector(self) -> "SubfiguresSpec":
        if self.backend == "yolo" and not self.checkpoint:
            raise ValueError("backend 'yolo' needs a checkpoint path")
        return self


class Subfigures(Stage):
    name = "subfigures"
    spec_type = SubfiguresSpec
    output_schema = PANEL
    optional = True
    uses_pixels = True

    def __init__(self, spec: SubfiguresSpec, context):
        super().__init__(spec, context)
        self.splitter = build_splitter(spec)

    def process(self, row: Row) -> Iterable[Row]:
        result = self.splitter(pixels_of(row), expected_panels(row["caption"]))
        # The stage sees the normalised image; boxes are recorded in the source's pixels.
        scale = row["source_width"] / row["image_width"]
        size = (row["source_width"], row["source_height"])
        boxes = [list(scale_box(box, scale, size)) for box in result.boxes]
        yield {**row, "panel_boxes": boxes, "split_confidence": result.confidence, "split_method": self.splitter.method}
