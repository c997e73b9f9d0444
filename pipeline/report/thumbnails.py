"""Small JPEG thumbnails as ``data:`` URIs, read from the shards (or a local source's files).

Shard images were decoded and normalised by the run; source files (a rejected figure's media, a
split figure's original) are untrusted bytes and go through the images stage's own safe decoder.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from stages.images.stage import decode_image, jpeg_data_url
from stages.io.shard_writer import read_samples
from stages.runtime.base import Drop

THUMBNAIL_SIDE = 256
JPEG_QUALITY = 80
MAX_SOURCE_PIXELS = 178_956_970  # the images stage's default decompression-bomb limit


def data_uri(image: Image.Image, side: int = THUMBNAIL_SIDE) -> str:
    return jpeg_data_url(image, side, JPEG_QUALITY)


def decode(data: bytes, side: int = THUMBNAIL_SIDE) -> Image.Image:
    """The image in ``data``; raises ``Drop`` (with the images stage's reason) when it is not one."""
    image, _, _, _ = decode_image(data, MAX_SOURCE_PIXELS, target_side=side)
    return image


def thumbnail_of_file(path: Path | None) -> tuple[str | None, str]:
    """(data URI, "") for a readable image file, else (None, why not)."""
    if path is None:
        return None, "no image bytes available (the rejects table keeps records, not bytes)"
    try:
        return data_uri(decode(path.read_bytes())), ""
    except OSError as error:
        return None, f"source file unreadable: {error}"
    except Drop as drop:
        return None, f"source bytes do not decode ({drop.reason}: {drop.detail})"


def shard_images(shard: Path | BinaryIO, keys: Iterable[str]) -> dict[str, bytes]:
    """The ``.jpg`` bytes of the wanted samples of one shard."""
    wanted = set(keys)
    images = {}
    for key, members in read_samples(shard):
        if key in wanted:
            images[key] = next(data for name, data in members if name == f"{key}.jpg")
    return images


def reassembled_figure(panels: list[tuple[list[int], bytes]], size: tuple[int, int]) -> Image.Image:
    """A split figure rebuilt from its panel crops, each pasted (scaled) into its box on white."""
    scale = min(1.0, 2 * THUMBNAIL_SIDE / max(size))
    canvas = Image.new("RGB", (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))), "white")
    for (x0, y0, x1, y1), data in panels:
        box = (round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale))
        crop = Image.open(io.BytesIO(data)).convert("RGB")
        canvas.paste(crop.resize((max(1, box[2] - box[0]), max(1, box[3] - box[1]))), box[:2])
    return canvas
