"""Pixels carried between the CPU stages: one decode per figure, one JPEG encoding per panel."""

import io

import numpy as np
import pyarrow as pa
import pytest
from builders import context, figure_row
from PIL import Image

from pipeline.config import RunConfig
from pipeline.demo_corpus.figures import FigurePlan, PanelPlan, draw_figure
from pipeline.plan import last_to_use_pixels, planned_stages
from schemas.records import FIGURE_MEDIA
from stages.images.pixels import PIXELS, decoded_image, pixels_of, without_pixels
from stages.images.stage import Images, ImagesSpec
from stages.subcaptions.stage import Subcaptions, SubcaptionsSpec
from stages.subfigures.stage import Subfigures, SubfiguresSpec


BOXES = [(6, 10, 598, 390), (646, 14, 1234, 396)]  # crops off the 8-px JPEG block grid, as panels are
SPEC = ImagesSpec(max_side=620, jpeg_quality=85)


def source_figure() -> Image.Image:
    """A two-panel figure of textured pictures, as a PNG would hold it (lossless: these are the source pixels)."""
    return draw_figure(FigurePlan(1240, 400, tuple(PanelPlan(label, box, "histology") for label, box in zip("AB", BOXES)), 0, (7,)))


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


def panel_rows(source: Image.Image) -> list[dict]:
    row = figure_row(caption="Livers. (A) Control. (B) Mutant.", media_bytes=png(source))
    figures = Images(SPEC, context())(pa.Table.from_pylist([row], schema=FIGURE_MEDIA))
    split = Subfigures(SubfiguresSpec(), context())(figures)
    return Subcaptions(SubcaptionsSpec(jpeg_quality=SPEC.jpeg_quality), context())(split).to_pylist()


def test_a_panel_sample_is_one_jpeg_encoding_of_the_source_pixels_crop():
    source = source_figure()
    rows = panel_rows(source)
    assert [r["panel_label"] for r in rows] == ["A", "B"]
    # the normalised figure, computed here from the source pixels, never through a JPEG
    normalised = source.copy()
    normalised.thumbnail((SPEC.max_side, SPEC.max_side), Image.Resampling.LANCZOS)
    figure_jpeg = jpeg(normalised, SPEC.jpeg_quality)
    scale = normalised.width / source.width
    for row in rows:
        box = tuple(round(v * scale) for v in row["panel_box"])
        crop = normalised.crop(box)
        truth = np.asarray(crop, dtype=np.float64)
        # exactly one encoding at the configured quality, of the crop of the source pixels
        assert row["image"] == jpeg(crop, SPEC.jpeg_quality)
        # and closer to the source than the panel cut from the figure's JPEG and encoded again
        two_generations = jpeg(Image.open(io.BytesIO(figure_jpeg)).convert("RGB").crop(box), SPEC.jpeg_quality)
        assert psnr(decoded(row["image"]), truth) > psnr(decoded(two_generations), truth) + 0.5  # measured: 1.3-1.5 dB
        # the panel carries its own pixels for the stages after it
        assert pixels_of(row).tobytes() == crop.tobytes()


def test_pixels_of_falls_back_to_the_jpeg_when_a_row_has_none_or_they_do_not_fit():
    picture = Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8))
    row = figure_row(image=jpeg(picture, 90), image_width=40, image_height=30)
    from_jpeg = decoded_image(row).tobytes()
    assert pixels_of({**row, PIXELS: picture.tobytes()}).tobytes() == picture.tobytes()
    assert pixels_of(row).tobytes() == from_jpeg != picture.tobytes()
    assert pixels_of({**row, PIXELS: picture.tobytes()[:-1]}).tobytes() == from_jpeg


def test_a_row_without_pixels_or_image_is_a_decode_error():
    from stages.runtime.base import Drop

    with pytest.raises(Drop) as error:
        pixels_of(figure_row(image=None))
    assert error.value.reason == "image_decode_error"


def config(**stages) -> RunConfig:
    return RunConfig.model_validate({"name": "t", "source": {"kind": "local", "root": "."}, "output": {"path": "out"}, "stages": stages})


def test_the_plan_drops_the_pixels_after_the_last_stage_that_uses_them():
    assert last_to_use_pixels(planned_stages(config())) == "filters"
    assert last_to_use_pixels(planned_stages(config(filters={"enabled": False}))) == "subcaptions"
    assert last_to_use_pixels(planned_stages(config(filters={"enabled": False}, subcaptions={"enabled": False}, subfigures={"enabled": False}))) == "images"
    table = pa.table({"sample_key": ["a"], PIXELS: [b"\0\0\0"]})
    assert without_pixels(table).column_names == ["sample_key"]
    assert without_pixels(without_pixels(table)).column_names == ["sample_key"]
