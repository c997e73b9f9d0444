import io

import numpy as np
import pytest
from builders import context, figure_row, image_bytes, media_table
from PIL import Image

from stages.images.stage import Images, ImagesSpec


def run_images(data: bytes, **spec):
    table = media_table([figure_row(media_bytes=data)])
    (row,) = Images(ImagesSpec(**spec), context())(table).to_pylist()
    return row


def decoded(row) -> Image.Image:
    image = Image.open(io.BytesIO(row["image"]))
    image.load()
    return image


def test_resizes_longest_side_and_reencodes_rgb_jpeg():
    row = run_images(image_bytes((800, 400)), max_side=256)
    assert row["drop_reason"] is None
    image = decoded(row)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (256, 128))
    assert (row["image_width"], row["image_height"], row["source_width"], row["source_height"]) == (256, 128, 800, 400)
    assert "media_bytes" not in row


def test_small_images_are_never_upscaled():
    row = run_images(image_bytes((120, 90)), max_side=1024, min_side=64)
    assert decoded(row).size == (120, 90)


def test_truncated_jpeg_is_a_decode_error():
    data = image_bytes((400, 300))
    row = run_images(data[: len(data) // 3])
    assert row["drop_reason"] == "image_decode_error"
    assert row["drop_stage"] == "images"


def test_not_an_image_and_disallowed_format_are_decode_errors():
    assert run_images(b"%PDF-1.4 not an image")["drop_reason"] == "image_decode_error"
    assert run_images(image_bytes((100, 100), fmt="ICO"))["drop_reason"] == "image_decode_error"


def test_too_small_is_dropped():
    row = run_images(image_bytes((40, 30)), min_side=64)
    assert row["drop_reason"] == "image_too_small"
    assert "40x30" in row["drop_detail"]


def test_decompression_bomb_is_dropped_not_decoded():
    row = run_images(image_bytes((300, 300), mode="L", fmt="PNG", color=0), max_pixels=10_000)
    assert row["drop_reason"] == "image_too_large"


def test_cmyk_becomes_rgb():
    row = run_images(image_bytes((100, 100), mode="CMYK", color=(0, 255, 255, 0)))
    pixel = decoded(row).getpixel((50, 50))
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60  # CMYK (0,100%,100%,0) is red


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("P", (100, 100), 0)
    image.putpalette([0, 0, 0] * 256)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    pixel = decoded(run_images(buffer.getvalue())).getpixel((10, 10))
    assert min(pixel) > 245


def test_sixteen_bit_grey_is_scaled_not_clipped():
    array = np.tile(np.linspace(0, 65535, 128, dtype=np.uint16), (128, 1))
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    image = decoded(run_images(buffer.getvalue())).convert("L")
    assert image.getpixel((0, 64)) < 10 and image.getpixel((127, 64)) > 245


def test_multiframe_gif_keeps_first_frame_and_counts_frames():
    frames = [Image.new("RGB", (100, 100), color) for color in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    row = run_images(buffer.getvalue())
    assert row["source_frames"] == 3
    red, _, blue = decoded(row).getpixel((50, 50))
    assert red > 200 and blue < 60


@pytest.mark.parametrize("max_side", [64, 200])
def test_sha256_matches_bytes(max_side):
    import hashlib

    row = run_images(image_bytes((300, 200)), max_side=max_side)
    assert row["image_sha256"] == hashlib.sha256(row["image"]).hexdigest()


def test_reduced_jpeg_decode_matches_full_decode_and_keeps_source_size():
    data = image_bytes((1600, 900))
    row = run_images(data, max_side=256)
    assert (row["source_width"], row["source_height"]) == (1600, 900)
    full = Image.open(io.BytesIO(data)).convert("RGB")
    full.thumbnail((256, 256), Image.Resampling.LANCZOS)
    fast = decoded(row)
    assert fast.size == full.size == (256, 144)
    difference = np.abs(np.asarray(fast, dtype=np.float32) - np.asarray(full, dtype=np.float32)).mean()
    assert difference < 4
