"""A sample's decoded pixels, carried beside its JPEG through the CPU stages of one task.

``images`` decodes each figure once and keeps its normalised RGB pixels (before JPEG encoding) in
the ``pixels`` column. The stages after it split, crop, check and hash those pixels instead of
decoding the JPEG again, and panels are cut from them, so every image a sample holds went through
one JPEG encoding. The plan runs the CPU stages as one step, one task a block, so the column moves
between them in the worker's memory; the plan drops it after the last stage that uses it, so it
never reaches the dedup's materialised records or a shard. A row without pixels (records built
elsewhere, with JPEG bytes only) is decoded from its ``image``.
"""

from __future__ import annotations

import pyarrow as pa
from PIL import Image

from stages.images.stage import ImagesSpec, decode_image, to_rgb
from stages.runtime.base import Drop, Row

PIXELS = "pixels"
_MAX_PIXELS = ImagesSpec.model_fields["max_pixels"].default


def pixels_of(row: Row, target_side: int | None = None) -> Image.Image:
    """The row's RGB pixels: the carried ones (an RGB image's ``tobytes()``, ``image_width`` by
    ``image_height``), else its JPEG decoded (at a DCT scale covering
    ``target_side`` when given: a caller that only needs a thumbnail)."""
    data, width, height = row.get(PIXELS), row.get("image_width"), row.get("image_height")
    if data and width and height and len(data) == width * height * 3:
        return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", 0, 1)
    return decoded_image(row, target_side)


def decoded_image(row: Row, target_side: int | None = None) -> Image.Image:
    """The row's JPEG decoded to RGB: the image as a loader of the shards sees it."""
    if not row.get("image"):
        raise Drop("image_decode_error", "the sample has no image bytes")
    image, _format, _frames, _size = decode_image(row["image"], _MAX_PIXELS, target_side=target_side)
    return to_rgb(image)


def without_pixels(batch: pa.Table) -> pa.Table:
    """The batch without its carried pixels (the plan's step after the last stage that uses them)."""
    return batch.drop_columns([PIXELS]) if PIXELS in batch.column_names else batch
