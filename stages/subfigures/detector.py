"""Panel splitters behind one interface: the numpy XY-cut splitter, or an operator's detector.

``build_splitter(spec)`` picks the backend. The detector backend (ultralytics YOLO from a local
checkpoint that the operator trained for panels) is an optional extra, imported only when it is
configured, so nothing else needs it installed.
"""

from __future__ import annotations

from typing import Protocol

from PIL import Image

from stages.subfigures.layout import reading_order
from stages.subfigures.split import SplitParams, SplitResult, split_image


class PanelSplitter(Protocol):
    method: str

    def __call__(self, image: Image.Image, panels: int | None = None) -> SplitResult:
        """Panel boxes of ``image``; ``panels`` is the count the caption names, where it names one."""


class XYCutSplitter:
    method = "xycut"

    def __init__(self, params: SplitParams = SplitParams()):
        self.params = params

    def __call__(self, image: Image.Image, panels: int | None = None) -> SplitResult:
        return split_image(image, self.params, panels)


class YoloSplitter:
    """Boxes from an ultralytics detection model; falls back to the whole figure when it finds none."""

    method = "yolo"

    def __init__(self, checkpoint: str, confidence: float = 0.25, image_size: int = 640):
        try:
            from ultralytics import YOLO
        except ImportError as error:
            raise RuntimeError("stages.subfigures.backend 'yolo' needs the optional extra: pip install 'figcurate[detector]'") from error
        self.model = YOLO(checkpoint)
        self.confidence = confidence
        self.image_size = image_size

    def __call__(self, image: Image.Image, panels: int | None = None) -> SplitResult:
        result = self.model.predict(image.convert("RGB"), conf=self.confidence, imgsz=self.image_size, verbose=False)[0]
        boxes = [tuple(int(round(v)) for v in row) for row in result.boxes.xyxy.tolist()]
        scores = [float(v) for v in result.boxes.conf.tolist()]
        if not boxes:
            return SplitResult([(0, 0, image.width, image.height)], 0.0)
        return SplitResult(reading_order(boxes), round(sum(scores) / len(scores), 3))


def build_splitter(spec) -> PanelSplitter:
    if spec.backend == "yolo":
        return YoloSplitter(spec.checkpoint, spec.detector_confidence)
    return XYCutSplitter(SplitParams(work_side=spec.work_side, read_letters=False))
