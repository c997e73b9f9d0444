"""The filters' measures on texts and on images drawn in code."""

import numpy as np
import pytest
from filter_images import sparse_line_plot
from PIL import Image, ImageDraw

from stages.filters.checks import (
    aspect_ratio,
    caption_chars,
    caption_words,
    dominant_color_fraction,
)

DEFAULT_BLANK_THRESHOLD = 0.99


def test_words_count_tokens_with_letters_or_digits():
    assert caption_words("Figure 1.") == 2
    assert caption_words("  (A)  Control —  mice \n treated ") == 4  # a lone dash is not a word
    assert caption_words("") == 0


def test_words_count_each_cjk_character():
    assert caption_words("图2 病例按年龄") == 7  # 图, 2, then five characters
    assert caption_words("対照マウス") == 5


def test_chars_collapse_whitespace():
    assert caption_chars("  Figure \n\t 1.  ") == len("Figure 1.")
    assert caption_chars("") == 0


def test_aspect_ratio_is_long_over_short_side():
    assert aspect_ratio(800, 100) == 8.0
    assert aspect_ratio(100, 800) == 8.0
    assert aspect_ratio(64, 64) == 1.0


@pytest.mark.parametrize("color", [(255, 255, 255), (30, 90, 200), (0, 0, 0)])
def test_single_colour_is_one(color):
    assert dominant_color_fraction(Image.new("RGB", (800, 600), color)) == 1.0


def test_exact_share_on_an_image_below_thumbnail_size():
    image = Image.new("RGB", (100, 100), "white")
    image.putpixel((5, 5), (0, 0, 0))
    assert dominant_color_fraction(image) == 9999 / 10000


def test_jpeg_noise_on_white_stays_in_one_colour():
    rng = np.random.default_rng(1)
    array = (250 + rng.integers(0, 6, (300, 400, 3))).astype("uint8")
    assert dominant_color_fraction(Image.fromarray(array)) == 1.0


def test_near_blank_with_a_few_dots_is_above_the_default():
    image = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(image)
    for x, y in np.random.default_rng(0).integers(0, 590, (12, 2)):
        draw.ellipse([x, y, x + 4, y + 4], fill="black")
    assert DEFAULT_BLANK_THRESHOLD < dominant_color_fraction(image) < 1.0


@pytest.mark.parametrize("line_width", [1, 2])
def test_sparse_line_plot_stays_clearly_below_the_default(line_width):
    assert dominant_color_fraction(sparse_line_plot(line_width=line_width)) < DEFAULT_BLANK_THRESHOLD - 0.01


def test_photo_like_noise_has_no_dominant_colour():
    noise = Image.fromarray(np.random.default_rng(2).integers(0, 256, (600, 800, 3), dtype=np.uint8))
    assert dominant_color_fraction(noise) < 0.1


def test_grey_and_palette_images_are_measured_as_rgb():
    assert dominant_color_fraction(Image.new("L", (50, 50), 128)) == 1.0
    palette = Image.new("P", (40, 10), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (0, 0, 10, 10))
    assert dominant_color_fraction(palette) == 0.75


def test_measure_leaves_the_input_image_alone():
    image = sparse_line_plot()
    dominant_color_fraction(image)
    assert image.size == (1024, 768) and image.mode == "RGB"
