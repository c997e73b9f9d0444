"""The printed panel labels are read, and their run gives the panels where no caption counts them."""

import numpy as np
from builders import blocks_figure
from PIL import Image, ImageDraw, ImageFont

from stages.subfigures.letters import find_glyphs
from stages.subfigures.reading import _run_from_a, read_glyph, read_labels
from stages.subfigures.split import SplitParams, _Splitter, grey_array, iou, split_image


def drawn(text: str, size: int = 20) -> np.ndarray:
    """``text``'s characters set apart in a row, in Pillow's own font (none of the reader's templates)."""
    image = Image.new("L", (60 * len(text), 120), 255)
    draw = ImageDraw.Draw(image)
    for i, character in enumerate(text):
        draw.text((10 + 60 * i, 20), character, font=ImageFont.load_default(size=size), fill=0)
    return np.asarray(image)


def read_row(grey: np.ndarray) -> str:
    glyphs = sorted(find_glyphs(grey), key=lambda glyph: glyph.box[0])
    return "".join(reading.character if (reading := read_glyph(grey, glyph)) else "?" for glyph in glyphs)


def test_capitals_of_a_font_it_was_not_given_are_read_and_digits_stay_digits():
    for size in (14, 20):
        assert read_row(drawn("ABCDEFGHIJKL", size)) == "ABCDEFGHIJKL"  # the "I" a solid bar
        assert not any(character.isalpha() for character in read_row(drawn("023456789", size)))


def test_the_labels_are_the_run_from_a_of_one_size():
    grey = drawn("ABCD")
    printed = read_labels(grey, find_glyphs(grey))
    assert printed.count == 4 and sorted(printed.glyphs) == [0, 1, 2, 3]
    grey = drawn("ABD")  # C unread: a gap of one letter is allowed
    assert read_labels(grey, find_glyphs(grey)).count == 4


def test_letters_that_spell_no_run_from_a_are_no_labels():
    for text in ("CDEF", "NPNPNP", "A", "AT"):
        grey = drawn(text)
        assert read_labels(grey, find_glyphs(grey)) is None, text


def test_a_run_stops_at_a_gap_of_more_than_two_letters():
    assert _run_from_a([0, 1, 2, 6, 7]) == [0, 1, 2]
    assert _run_from_a([1, 2, 4]) == [1, 2, 4]  # its "a" unread
    assert _run_from_a([2, 3]) == []


def test_without_a_caption_the_printed_letters_count_the_panels_and_name_them():
    # A heads the left column, B the row below it, C the right column: panels come A, B, C,
    # the letters' order, not the reading order (A, C, B)
    blocks = [(40, 40, 200, 150), (40, 200, 200, 300), (250, 40, 420, 300), (40, 152, 200, 156)]
    image = blocks_figure(430, 310, blocks)
    draw = ImageDraw.Draw(image)
    for x, y, letter in [(10, 14, "A"), (10, 172, "B"), (222, 14, "C")]:
        draw.text((x, y), letter, font=ImageFont.load_default(size=20), fill=(0, 0, 0))
    result = split_image(image)
    assert result.letters == 3 and len(result.boxes) == 3
    a, b, c = result.boxes
    assert a[1] <= 20 and a[3] < 170 and b[1] > 150 and c[0] > 210
    assert iou(c, (222, 14, 420, 300)) > 0.9


def test_without_letters_the_free_split_decides_as_before():
    image = blocks_figure(430, 310, [(10, 10, 200, 300), (230, 10, 420, 300)])
    result = split_image(image)
    assert result.letters == 0 and len(result.boxes) == 2
    grey, _ = grey_array(image, 1024)
    assert read_labels(grey, find_glyphs(grey)) is None


def test_without_letters_pieces_far_from_equal_shares_are_one_picture():
    # a chart and its narrow legend beside it, a wide gutter between: no panels without a count
    image = blocks_figure(430, 310, [(10, 10, 330, 300), (370, 120, 420, 190)])
    assert split_image(image).boxes == [(0, 0, 430, 310)]
    assert len(split_image(image, panels=2).boxes) == 2  # a caption naming two still has them


def test_a_letter_not_read_leaves_its_panel_where_its_place_is():
    # A's picture is two blocks with a gutter between them, wider than C's; C's letter is not
    # printed. The panel of C is found after B, not inside A, and the layout is no more than
    # PARTIAL_CONFIDENCE sure.
    from stages.subfigures.split import PARTIAL_CONFIDENCE

    blocks = [(30, 40, 150, 250), (170, 40, 330, 250), (380, 40, 520, 250), (570, 40, 690, 250)]
    image = blocks_figure(700, 260, blocks)
    draw = ImageDraw.Draw(image)
    for x, letter in [(8, "A"), (358, "B")]:
        draw.text((x, 8), letter, font=ImageFont.load_default(size=20), fill=(0, 0, 0))
    grey, _ = grey_array(image, 1024)
    splitter = _Splitter(grey, SplitParams())
    (a, b, c), confidence = splitter.partly_lettered(splitter.trim((0, 0, 700, 260)), 3)
    assert confidence == PARTIAL_CONFIDENCE
    assert a[0] <= 10 and a[2] >= 328 and 350 <= b[0] <= 362 and b[2] <= 522 and iou(c, (570, 40, 690, 250)) > 0.95
    # where the gutters are sure of a layout of three, a guess at an unread letter's panel does not outweigh them
    assert split_image(image, panels=3).letters == 0


def test_more_letters_not_read_than_two_draw_nothing():
    blocks = [(30 + 120 * k, 40, 130 + 120 * k, 250) for k in range(5)]
    image = blocks_figure(630, 260, blocks)
    draw = ImageDraw.Draw(image)
    for x, letter in [(8, "A"), (128, "B")]:
        draw.text((x, 8), letter, font=ImageFont.load_default(size=20), fill=(0, 0, 0))
    assert split_image(image, panels=5).letters == 0  # three unread: the gutters decide


def test_letters_all_read_find_panels_no_straight_cut_separates():
    # a pinwheel: no white line crosses the figure, so neither the letters nor the gutters draw a
    # guillotine layout; each picture joins the nearest letter above and to its left
    from stages.subfigures.split import PARTIAL_CONFIDENCE

    blocks = {"A": (30, 30, 330, 150), "B": (370, 30, 490, 330), "C": (30, 190, 150, 490), "E": (190, 190, 330, 330), "D": (190, 370, 490, 490)}
    image = blocks_figure(500, 500, list(blocks.values()))
    draw = ImageDraw.Draw(image)
    for letter, (x, y, _, _) in blocks.items():
        draw.text((x, y - 24), letter, font=ImageFont.load_default(size=20), fill=(0, 0, 0))
    result = split_image(image, panels=5)
    assert result.letters == 5 and result.confidence == PARTIAL_CONFIDENCE
    for found, letter in zip(result.boxes, "ABCDE"):
        x0, y0, x1, y1 = blocks[letter]
        assert iou(found, (x0, y0 - 20, x1, y1)) > 0.9, letter
