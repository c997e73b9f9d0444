"""Stage ``images``: decode, verify and normalise each figure image to an RGB JPEG.

Pillow runs with the decompression-bomb warning as an error, a restricted set of formats, and a
full decode inside the try (truncated files only fail at load). Modes are converted with care:
CMYK (Pillow undoes Adobe's inversion), 16-bit grey, palette with transparency (composited on
white), and multi-frame files keep their first frame and record the frame count.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from collections.abc import Iterable

from PIL import Image, ImageOps
from pydantic import Field

from schemas.records import SAMPLE
from stages.runtime.base import Drop, Row, Stage, StageSpec

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "TIFF", "BMP", "WEBP")


class ImagesSpec(StageSpec):
    max_side: int = Field(1024, ge=32, description="longest side after resizing (never upscaled)")
    min_side: int = Field(64, ge=1, description="images whose shorter side is below this are dropped")
    max_pixels: int = Field(178_956_970, ge=1, description="decompression-bomb limit on source pixels")
    jpeg_quality: int = Field(90, ge=50, le=100)


class Images(Stage):
    name = "images"
    spec_type = ImagesSpec
    output_schema = SAMPLE
    uses_pixels = True

    def process(self, row: Row) -> Iterable[Row]:
        image, source_format, frames, (source_width, source_height) = decode_image(
            row["media_bytes"], self.spec.max_pixels, target_side=self.spec.max_side
        )
        if min(source_width, source_height) < self.spec.min_side:
            raise Drop("image_too_small", f"{source_width}x{source_height} < min_side {self.spec.min_side}")
        image, encoded = normalise(image, self.spec)
        out = {k: v for k, v in row.items() if k != "media_bytes"}
        yield {
            **out,
            "image": encoded,
            "image_width": image.width,
            "image_height": image.height,
            "source_width": source_width,
            "source_height": source_height,
            "source_format": source_format,
            "source_frames": frames,
            "image_sha256": hashlib.sha256(encoded).hexdigest(),
            "pixels": image.tobytes(),
        }


def normalise(image: Image.Image, spec: ImagesSpec) -> tuple[Image.Image, bytes]:
    """A decoded image as every sample holds it: RGB, at most ``max_side``, JPEG at ``jpeg_quality``."""
    return resized_jpeg(image, spec.max_side, spec.jpeg_quality)


def resized_jpeg(image: Image.Image, max_side: int, quality: int) -> tuple[Image.Image, bytes]:
    """``image`` in RGB, shrunk (never enlarged) to at most ``max_side``, and its JPEG bytes; ``image``
    itself may be changed (callers hand over their own decode)."""
    image = to_rgb(image)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=False)
    return image, buffer.getvalue()


def jpeg_data_url(image: Image.Image, max_side: int, quality: int) -> str:
    """``image`` resized as ``resized_jpeg`` does, as a ``data:image/jpeg;base64,...`` URL (for HTML pages and VLM prompts)."""
    _, encoded = resized_jpeg(image, max_side, quality)
    return "data:image/jpeg;base64," + base64.b64encode(encoded).decode("ascii")


def decode_image(data: bytes, max_pixels: int, target_side: int | None = None) -> tuple[Image.Image, str, int, tuple[int, int]]:
    """Fully decode the first frame of ``data``; raise ``Drop`` for anything that is not a sane image.

    Returns the image, its format, its frame count and its size in the file. With ``target_side``,
    JPEGs are decoded at the smallest DCT scale that still covers it (several times faster than a
    full decode followed by a resize, same result after the final resize).
    """
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            frames = getattr(image, "n_frames", 1)
            source_size = image.size
            image.seek(0)
            if target_side and image.format == "JPEG" and max(source_size) > target_side:
                scale = target_side / max(source_size)
                image.draft(image.mode, (round(source_size[0] * scale), round(source_size[1] * scale)))
            image.load()
            return image, image.format or "unknown", frames, source_size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise Drop("image_too_large", str(error)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise Drop("image_decode_error", f"{type(error).__name__}: {error}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` in RGB, turned upright by its EXIF orientation (in place: ``image`` is the caller's
    own decode, and an upright RGB image, most figures, is not copied at all)."""
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Scale 16/32-bit grey to 8 bits by its own range rather than clipping.
        low, high = image.getextrema()
        scale = 255.0 / max(high - low, 1)
        image = image.point(lambda value: (value - low) * scale).convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")
