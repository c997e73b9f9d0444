"""Panel letters printed in the figure: where they stand.

A printed panel label (A, B, a, b) is a single glyph standing alone: letter-shaped, with white
space around it (dark on the page, or light on a dark picture; its brackets, "(a)", beside it),
and every label of a figure is set in one size (``find_glyphs``). Which letter a glyph is, is read
in ``reading.py``; where the letters were not all read, the figure's labels are the one group of
exactly as many glyphs of equal height as the caption names (``label_set``), in reading order.
The layout they draw is ``letter_layout.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stages.subfigures.layout import Box, union

GLYPH_INK_LEVEL = 200  # a glyph is a component of pixels darker than this (anti-aliasing included) ...
DARK_LEVEL = 120  # ... most of them darker than this
GLYPH_ASPECT = (0.45, 1.4)  # width over height of a letter ...
GLYPH_DENSITY = (0.15, 0.85)  # ... and its ink share of its box: not a dot, not a filled square
# A sans-serif "I" is narrower and solid: an upright bar (the ninth panel's label)
BAR_ASPECT = (0.12, 0.45)
BAR_DENSITY = 0.85
MIN_GLYPH_HEIGHT = 6  # work pixels; anything smaller is unreadable
MAX_GLYPH_HEIGHT_SHARE = 0.2  # of the figure's height
# White space around a label, as a share of its height, left/right and above/below; a few pixels
# of ink there (JPEG noise) are allowed.
MARGIN_X, MARGIN_Y, MARGIN_INK = 0.5, 0.3, 0.02
SAME_SIZE = 0.15  # labels of one figure differ in height by at most this share
# A bracket beside a label, "(a)": a thin stroke (a bar's width, not solid) at most this much
# taller than the letter, reaching its top and bottom within the slack, this close to it
BRACKET_DENSITY = 0.7
DARK_PICTURE_SHARE = 0.01  # of the figure's pixels dark enough to hold a light letter
CANDIDATE_WIDTH = 4  # a label with its brackets is at most this many times as wide as high
DARK_BLOCK, DARK_BLOCK_SHARE = 16, 0.25  # a dark picture is made of blocks this big, this much of them dark
BRACKET_HEIGHT, BRACKET_SLACK, BRACKET_DISTANCE = 2.0, 0.15, 0.6


@dataclass(frozen=True)
class Glyph:
    box: Box
    light: bool = False  # a light letter on a dark picture

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def find_glyphs(grey: np.ndarray, light: bool = False) -> list[Glyph]:
    """Letter-shaped components with white space around them: dark letters on the page, or (``light``)
    light letters on dark pictures, the same search on the inverted pictures. A label's brackets,
    "(a)" or "a)", stand inside its margin and are taken as part of it."""
    if not light:
        return _glyphs_of(grey, light=False, figure_height=grey.shape[0])
    found = set()
    for x0, y0, x1, y1 in dark_pictures(grey):
        for glyph in _glyphs_of(255 - grey[y0:y1, x0:x1], light=True, figure_height=grey.shape[0]):
            gx0, gy0, gx1, gy1 = glyph.box
            found.add(Glyph((gx0 + x0, gy0 + y0, gx1 + x0, gy1 + y0), light=True))
    return sorted(found, key=lambda glyph: (glyph.box[1], glyph.box[0]))


def dark_pictures(grey: np.ndarray) -> list[Box]:
    """The boxes of the figure's dark areas, where light letters could stand (in blocks of
    ``DARK_BLOCK`` pixels, one block around): most charts and drawings have none."""
    from scipy import ndimage

    dark = grey <= 255 - GLYPH_INK_LEVEL
    if np.count_nonzero(dark) < DARK_PICTURE_SHARE * grey.size:
        return []
    height, width = grey.shape
    rows, cols = -(-height // DARK_BLOCK), -(-width // DARK_BLOCK)
    padded = np.zeros((rows * DARK_BLOCK, cols * DARK_BLOCK), bool)
    padded[:height, :width] = dark
    blocks = padded.reshape(rows, DARK_BLOCK, cols, DARK_BLOCK).sum(axis=(1, 3), dtype=np.uint16) >= DARK_BLOCK_SHARE * DARK_BLOCK**2
    labels, _ = ndimage.label(blocks, structure=np.ones((3, 3), dtype=bool))
    return [
        (max(0, (c.start - 1) * DARK_BLOCK), max(0, (r.start - 1) * DARK_BLOCK), min(width, (c.stop + 1) * DARK_BLOCK), min(height, (r.stop + 1) * DARK_BLOCK))
        for r, c in ndimage.find_objects(labels)
    ]


def _glyphs_of(grey: np.ndarray, light: bool, figure_height: int) -> list[Glyph]:
    ink = grey < GLYPH_INK_LEVEL
    letters, brackets = [], []
    for box, component in _small_components(ink, MIN_GLYPH_HEIGHT, MAX_GLYPH_HEIGHT_SHARE * figure_height):
        x0, y0, x1, y1 = box
        h, w = y1 - y0, x1 - x0
        letter, bar = GLYPH_ASPECT[0] * h <= w <= GLYPH_ASPECT[1] * h, BAR_ASPECT[0] * h <= w < BAR_ASPECT[1] * h
        if not (letter or bar):
            continue
        density = np.count_nonzero(component) / (h * w)
        if bar and density <= BRACKET_DENSITY:
            brackets.append(box)
        shaped = GLYPH_DENSITY[0] <= density <= GLYPH_DENSITY[1] if letter else density >= BAR_DENSITY
        if shaped and not _percentile_above(grey[y0:y1, x0:x1][component], 30, DARK_LEVEL):
            letters.append(box)
    glyphs = []
    for box in letters:
        x0, y0, x1, y1 = _with_brackets(box, brackets)
        h = box[3] - box[1]
        mx, my = max(2, int(MARGIN_X * h)), max(2, int(MARGIN_Y * h))
        around = ink[max(0, y0 - my) : y1 + my, max(0, x0 - mx) : x1 + mx]
        if np.count_nonzero(around) - np.count_nonzero(ink[y0:y1, x0:x1]) <= MARGIN_INK * h * h:
            glyphs.append(Glyph(box, light))
    return glyphs


def _small_components(ink: np.ndarray, min_height: int, max_height: float) -> Iterator[tuple[Box, np.ndarray]]:
    """The connected components of ``ink`` from ``min_height`` to ``max_height`` tall (8-connected): box and mask.

    Labelling the whole figure at full size is most of a glyph search's cost, and nearly all its
    pixels belong to pictures, far too big for a letter. The components are looked for at half
    size first (ink where any of four pixels is), which keeps every component whole and apart
    from the rest; only the small ones, and the space they take, are labelled at full size."""
    from scipy import ndimage

    height, width = ink.shape
    half = np.zeros(((height + 1) // 2, (width + 1) // 2), bool)
    for dy in (0, 1):
        for dx in (0, 1):
            part = ink[dy::2, dx::2]
            half[: part.shape[0], : part.shape[1]] |= part
    structure = np.ones((3, 3), dtype=bool)
    coarse, _ = ndimage.label(half, structure=structure)
    for index, (rows, cols) in enumerate(ndimage.find_objects(coarse), 1):
        h, w = 2 * (rows.stop - rows.start), 2 * (cols.stop - cols.start)
        if h < min_height or h > max_height + 2 or w > CANDIDATE_WIDTH * h:
            continue  # a speck; a picture, a word or a line of text: no letter stands alone in it
        y0, x0 = 2 * rows.start, 2 * cols.start
        mine = np.repeat(np.repeat(coarse[rows, cols] == index, 2, axis=0), 2, axis=1)[: height - y0, : width - x0]
        window = ink[y0 : y0 + mine.shape[0], x0 : x0 + mine.shape[1]] & mine
        fine, _ = ndimage.label(window, structure=structure)
        for sub, (r, c) in enumerate(ndimage.find_objects(fine), 1):
            if min_height <= r.stop - r.start <= max_height:
                yield (x0 + c.start, y0 + r.start, x0 + c.stop, y0 + r.stop), fine[r, c] == sub


def _with_brackets(letter: Box, brackets: list[Box]) -> Box:
    """The letter's box widened to the brackets standing close beside it, as tall as it or taller."""
    x0, y0, x1, y1 = letter
    h, slack = y1 - y0, BRACKET_SLACK * (y1 - y0)
    beside = [
        (bx0, by0, bx1, by1)
        for bx0, by0, bx1, by1 in brackets
        if by0 <= y0 + slack and by1 >= y1 - slack and by1 - by0 <= BRACKET_HEIGHT * h
        and (0 <= x0 - bx1 <= BRACKET_DISTANCE * h or 0 <= bx0 - x1 <= BRACKET_DISTANCE * h)
    ]  # fmt: skip
    return union([letter, *beside])


def _percentile_above(values: np.ndarray, q: float, level: int) -> bool:
    """``np.percentile(values, q) > level``, read off the count of values at or below ``level``
    where that decides it (the percentile lies between the sorted values around ``(n - 1) q / 100``)."""
    at_or_below, last = np.count_nonzero(values <= level), values.size - 1
    k = int(last * q / 100)
    if min(k + 2, last) < at_or_below:
        return False
    if max(k - 1, 0) >= at_or_below:
        return True
    return bool(np.percentile(values, q) > level)


def label_set(glyphs: list[Glyph], count: int) -> list[Glyph] | None:
    """The one group of exactly ``count`` glyphs of one size (the largest such size where there are several)."""
    groups = {}
    for glyph in glyphs:
        members = tuple(g for g in glyphs if abs(g.height - glyph.height) <= max(1, SAME_SIZE * glyph.height))
        groups[members] = glyph.height
    exact = [(height, members) for members, height in groups.items() if len(members) == count]
    return list(max(exact)[1]) if exact else None
