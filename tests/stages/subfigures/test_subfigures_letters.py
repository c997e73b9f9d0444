"""Panel letters printed in the figure draw its layout when the caption's count of them stands out."""

import numpy as np
import pytest
from builders import blocks_figure
from PIL import ImageDraw, ImageFont

from stages.subfigures.letter_layout import letter_layout
from stages.subfigures.letters import Glyph, find_glyphs, label_set
from stages.subfigures.split import _Splitter, SplitParams, grey_array, iou, split_image


def lettered(width, height, blocks, letters, size=20):
    """``blocks_figure`` with black letters (x, y, text) drawn on its white space."""
    image = blocks_figure(width, height, blocks)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size)
    for x, y, text in letters:
        draw.text((x, y), text, font=font, fill=(0, 0, 0))
    return image


# Two charts side by side; B's legend reaches back over the gutter into A, so no white column
# separates them, and the gutter search can only cut the row of letters off the charts.
CHARTS = [(30, 30, 200, 250), (250, 30, 420, 250), (180, 100, 255, 106)]
TWO_LETTERS = [(6, 4, "A"), (222, 4, "B")]


def test_the_letters_split_panels_no_gutter_separates():
    plain = split_image(blocks_figure(430, 260, CHARTS), panels=2)  # the same figure without letters
    assert plain.letters == 0 and not any(iou(box, (30, 30, 200, 250)) > 0.8 for box in plain.boxes)
    result = split_image(lettered(430, 260, CHARTS, TWO_LETTERS), panels=2)
    assert result.letters == 2 and 0.5 <= result.confidence < 0.9  # the cut crossed the legend's line
    a, b = result.boxes
    assert a[0] <= 8 and 195 <= a[2] <= 224 and a[3] >= 249
    assert 218 <= b[0] <= 226 and b[2] >= 419 and b[3] >= 249


# Panel A is the whole left column (a picture, white space, a second picture); B and C are the
# two rows beside it.
COLUMN_A = [(30, 30, 190, 120), (30, 170, 190, 300)]
B, C = (236, 30, 420, 120), (236, 190, 420, 300)
LETTERS = [(6, 4, "A"), (212, 4, "B"), (212, 164, "C")]


def test_a_panel_is_the_region_its_letter_heads_and_panels_come_in_the_letters_order():
    result = split_image(lettered(430, 310, COLUMN_A + [B, C], LETTERS), panels=3)
    assert result.letters == 3 and result.confidence == 0.9  # every cut in white space
    a, b, c = result.boxes
    assert a[1] <= 12 and a[3] >= 299 and a[2] <= 200  # A: its letter and both pictures
    assert iou(b, (212, 10, 420, 120)) > 0.9 and iou(c, (212, 170, 420, 300)) > 0.9


def test_a_count_the_letters_do_not_match_leaves_the_gutters_to_decide():
    image = lettered(430, 310, COLUMN_A + [B, C], LETTERS)
    assert split_image(image, panels=4).letters == 0


def test_a_letter_not_at_its_panel_s_top_left_draws_no_layout():
    # the second "label" stands in the middle of the right picture's white hole, not at a corner
    blocks = [(30, 30, 190, 200), (230, 30, 300, 200), (360, 30, 420, 200), (300, 30, 360, 90), (300, 150, 360, 200)]
    image = lettered(430, 210, blocks, [(6, 4, "A"), (322, 108, "B")])
    grey, _ = grey_array(image, 1024)
    splitter = _Splitter(grey, SplitParams())
    labels = label_set(find_glyphs(grey), 2)
    assert labels is not None and len(labels) == 2
    assert letter_layout(splitter.ink, splitter.integral, labels, (0, 0, 430, 210)) is None


def test_the_labels_are_the_one_group_of_that_many_glyphs_of_one_size():
    glyphs = [Glyph((x, 0, x + 10, 13)) for x in (0, 50, 100)] + [Glyph((x, 40, x + 6, 49)) for x in (0, 20, 40, 60)]
    assert {g.height for g in label_set(glyphs, 3)} == {13}
    assert {g.height for g in label_set(glyphs, 4)} == {9}
    assert label_set(glyphs, 5) is None


def test_glyphs_are_isolated_dark_letters_not_words_or_blocks():
    image = lettered(300, 120, [(150, 20, 290, 110)], [(6, 4, "A"), (6, 60, "word")])
    grey, _ = grey_array(image, 1024)
    found = find_glyphs(grey)
    assert len(found) == 1 and found[0].box[0] == pytest.approx(7, abs=3)


def test_a_sans_serif_i_is_a_label_though_it_is_a_bar():
    # nine panels in a 3x3 grid, A to I; the "I" is a solid bar narrower than any other letter
    cells = [(40 + 150 * col, 30 + 110 * row, 160 + 150 * col, 120 + 110 * row) for row in range(3) for col in range(3)]
    letters = [(16 + 150 * col, 6 + 110 * row, "ABCDEFGHI"[3 * row + col]) for row in range(3) for col in range(3)]
    image = lettered(470, 350, cells, letters)
    grey, _ = grey_array(image, 1024)
    i_box = max(find_glyphs(grey), key=lambda glyph: (glyph.box[1], glyph.box[0])).box
    assert i_box[0] == pytest.approx(316, abs=4) and (i_box[2] - i_box[0]) < 0.45 * (i_box[3] - i_box[1])
    result = split_image(image, panels=9)
    assert result.letters == 9
    assert all(iou(found, (16 + 150 * (k % 3), 6 + 110 * (k // 3), 160 + 150 * (k % 3), 120 + 110 * (k // 3))) > 0.8 for k, found in enumerate(result.boxes))


def test_a_label_s_brackets_stand_in_its_margin_and_belong_to_it():
    image = lettered(300, 200, [(60, 20, 290, 90), (60, 110, 290, 190)], [(6, 10, "(a)"), (6, 100, "b)")])
    grey, _ = grey_array(image, 1024)
    found = sorted(find_glyphs(grey), key=lambda glyph: glyph.box[1])
    assert len(found) == 2 and found[0].box[0] > 8  # the letter itself, right of its bracket
    plain = lettered(300, 200, [(60, 20, 290, 90), (20, 110, 290, 190)], [(6, 100, "b)")])  # the bracket touches a picture's margin
    assert find_glyphs(np.asarray(plain.convert("L"))) == []


def test_light_letters_on_dark_pictures_are_glyphs_too():
    image = blocks_figure(300, 120, [])
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 140, 110), fill=(10, 10, 10))
    draw.text((16, 14), "a", font=ImageFont.load_default(size=20), fill=(255, 255, 255))
    grey, _ = grey_array(image, 1024)
    assert find_glyphs(grey) == []  # no dark letter on the page
    (glyph,) = find_glyphs(grey, light=True)
    assert glyph.light and 14 <= glyph.box[0] <= 22
    assert find_glyphs(np.asarray(blocks_figure(300, 120, []).convert("L")), light=True) == []  # no dark picture to stand on


def test_a_solid_block_is_no_letter_even_when_narrow_and_alone():
    image = lettered(300, 120, [(150, 20, 290, 110), (20, 30, 50, 90)], [])  # a 30x60 block: too wide for a bar
    grey, _ = grey_array(image, 1024)
    assert find_glyphs(grey) == []


def test_the_darkness_test_answers_as_numpy_s_percentile():
    import numpy as np

    from stages.subfigures.letters import _percentile_above

    rng = np.random.default_rng(7)
    for size in [1, 2, 3, 4, 5, 7, 10, 31, 100, 257]:
        for _ in range(200):
            values = rng.integers(0, 256, size).astype(np.uint8)
            values[rng.random(size) < 0.4] = 120  # ties at the level itself
            for level in (119, 120, 121):
                assert _percentile_above(values, 30, level) == (np.percentile(values, 30) > level)
