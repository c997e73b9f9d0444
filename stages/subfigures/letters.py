"""Panel letters printed in the figure, and the layout they draw.

A printed panel label (A, B, a, b) is a single glyph standing alone: dark ink, letter-shaped, with
white space around it, and every label of a figure is set in one size. When the caption names
``count`` panels, the figure's labels are the one group of exactly ``count`` such glyphs of equal
height (``label_set``). No OCR: which letter a glyph is does not matter, only where it stands; the
labels' reading order is the caption's order.

The labels then draw the layout (``letter_layout``): a panel begins at its label, so the figure
is cut, rows or columns, between groups of labels (in the whitest line before the next group),
recursively, until every region holds one label standing at its top-left. The cuts follow the
labels, not the widest gutters: a heading or legend over two charts stays with the label above it,
a panel that is a whole column beside two rows stays whole, and a gutter inside a panel is not
cut. A layout where a label is not at its region's top-left, or a cut runs through more than a
thin line of ink, is not one the labels draw, and the gutter search decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from stages.subfigures.layout import Box, ink_bounds, ink_sum, reading_order

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
# A cut may cross this share of its length in ink (a thin connector line), no more.
MAX_CUT_INK = 0.03
LETTERS_CONFIDENCE = 0.9
# A bracket beside a label, "(a)": a thin stroke (a bar's width, not solid) at most this much
# taller than the letter, reaching its top and bottom within the slack, this close to it
BRACKET_DENSITY = 0.7
DARK_PICTURE_SHARE = 0.01  # of the figure's pixels dark enough to hold a light letter
BRACKET_HEIGHT, BRACKET_SLACK, BRACKET_DISTANCE = 2.0, 0.15, 0.6


@dataclass(frozen=True)
class Glyph:
    box: Box
    light: bool = False  # a light letter on a dark picture

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def find_glyphs(grey: np.ndarray) -> list[Glyph]:
    """Letter-shaped components with white space around them: dark letters on the page, and light
    letters on dark pictures (the same search on the inverted figure). A label's brackets, "(a)"
    or "a)", stand inside its margin and are taken as part of it."""
    glyphs = _glyphs_of(grey, light=False)
    # light letters need dark pictures to stand on; most charts and drawings have none
    if np.count_nonzero(grey <= 255 - GLYPH_INK_LEVEL) >= DARK_PICTURE_SHARE * grey.size:
        glyphs += _glyphs_of(255 - grey, light=True)
    return glyphs


def _glyphs_of(grey: np.ndarray, light: bool) -> list[Glyph]:
    from scipy import ndimage

    ink = grey < GLYPH_INK_LEVEL
    labels, _ = ndimage.label(ink, structure=np.ones((3, 3), dtype=bool))
    height = ink.shape[0]
    letters, brackets = [], []
    for index, found in enumerate(ndimage.find_objects(labels), 1):
        rows, cols = found
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if not (MIN_GLYPH_HEIGHT <= h <= MAX_GLYPH_HEIGHT_SHARE * height):
            continue
        letter, bar = GLYPH_ASPECT[0] * h <= w <= GLYPH_ASPECT[1] * h, BAR_ASPECT[0] * h <= w < BAR_ASPECT[1] * h
        if not (letter or bar):
            continue
        density = np.count_nonzero(labels[found] == index) / (h * w)
        if bar and density <= BRACKET_DENSITY:
            brackets.append((cols.start, rows.start, cols.stop, rows.stop))
        shaped = GLYPH_DENSITY[0] <= density <= GLYPH_DENSITY[1] if letter else density >= BAR_DENSITY
        if shaped and not _percentile_above(grey[found][labels[found] == index], 30, DARK_LEVEL):
            letters.append((cols.start, rows.start, cols.stop, rows.stop))
    glyphs = []
    for box in letters:
        x0, y0, x1, y1 = _with_brackets(box, brackets)
        h = box[3] - box[1]
        mx, my = max(2, int(MARGIN_X * h)), max(2, int(MARGIN_Y * h))
        around = ink[max(0, y0 - my) : y1 + my, max(0, x0 - mx) : x1 + mx]
        if np.count_nonzero(around) - np.count_nonzero(ink[y0:y1, x0:x1]) <= MARGIN_INK * h * h:
            glyphs.append(Glyph(box, light))
    return glyphs


def _with_brackets(letter: Box, brackets: list[Box]) -> Box:
    """The letter's box widened to the brackets standing close beside it, as tall as it or taller."""
    x0, y0, x1, y1 = letter
    h, slack = y1 - y0, BRACKET_SLACK * (y1 - y0)
    token = list(letter)
    for bracket in brackets:
        bx0, by0, bx1, by1 = bracket
        if by0 > y0 + slack or by1 < y1 - slack or by1 - by0 > BRACKET_HEIGHT * h:
            continue
        if 0 <= x0 - bx1 <= BRACKET_DISTANCE * h or 0 <= bx0 - x1 <= BRACKET_DISTANCE * h:
            token = [min(token[0], bx0), min(token[1], by0), max(token[2], bx1), max(token[3], by1)]
    return tuple(token)


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


def letter_layout(
    ink: np.ndarray, integral: np.ndarray, letters: list[Glyph], content: Box, in_given_order: bool = False
) -> tuple[list[Box], float] | None:
    """One region per letter, trimmed to its ink, and the most ink any cut crossed (share of its
    length); None when the letters draw no layout. Regions come in the letters' reading order, or
    in the order given (letters that were read: a, b, c)."""
    ordered = [g.box for g in letters] if in_given_order else reading_order([g.box for g in letters])
    search = _LetterSearch(ink, integral, ordered)
    found = search.best(content, tuple(range(len(ordered))))
    if found is None:
        return None
    regions = dict(found[1])  # letter index -> region
    return [search.trim(regions[i]) or regions[i] for i in range(len(ordered))], found[0]


def letters_confidence(boxes: list[Box], worst_cut_ink: float, shape_confidence: float) -> float:
    """High where every cut ran through white space, lower as a cut crossed ink, and never above
    the layout's shape confidence (a strip is no panel, whatever its letter says)."""
    return round(min(shape_confidence, LETTERS_CONFIDENCE * (1.0 - worst_cut_ink / MAX_CUT_INK / 2)), 3)


class _LetterSearch:
    def __init__(self, ink: np.ndarray, integral: np.ndarray, letters: list[Box]):
        self.ink, self.integral, self.letters = ink, integral, letters
        self.best = lru_cache(maxsize=None)(self._best)

    def trim(self, box: Box) -> Box | None:
        return ink_bounds(self.ink, box)

    def at_top_left(self, letter: Box, region: Box) -> bool:
        """The letter is where a label stands: near the left and the top of its region's ink."""
        trimmed = self.trim(region)
        if trimmed is None:
            return False
        h = letter[3] - letter[1]
        return (letter[0] - trimmed[0] <= max(2 * h, 0.12 * (trimmed[2] - trimmed[0]))
                and letter[1] - trimmed[1] <= max(1.5 * h, 0.12 * (trimmed[3] - trimmed[1])))  # fmt: skip

    def line_ink(self, region: Box, axis: int, position: int) -> float:
        x0, y0, x1, y1 = region
        line = (x0, position, x1, position + 1) if axis == 0 else (position, y0, position + 1, y1)
        return ink_sum(self.integral, line) / max(1, (x1 - x0) if axis == 0 else (y1 - y0))

    def _best(self, region: Box, members: tuple[int, ...]) -> tuple[float, tuple[tuple[int, Box], ...]] | None:
        """(worst cut ink, ((letter, region), ...)) of the layout with the least ink cut, or None."""
        if len(members) == 1:
            return (0.0, ((members[0], region),)) if self.at_top_left(self.letters[members[0]], region) else None
        choices = []
        for axis in (0, 1):
            lo, hi = (1, 3) if axis == 0 else (0, 2)
            order = sorted(members, key=lambda i: self.letters[i][lo])
            for split in range(1, len(order)):
                first, second = order[:split], order[split:]
                end, start = max(self.letters[i][hi] for i in first), min(self.letters[i][lo] for i in second)
                if start <= end:
                    continue  # the groups overlap along this axis: no line between them
                # the whitest line in the half of the space before the second group's labels (the first
                # group's pictures begin right after its labels), the nearest to them
                position = min(range(end + (start - end) // 2, start), key=lambda p: (round(self.line_ink(region, axis, p), 3), -p))
                cut_ink = self.line_ink(region, axis, position)
                if cut_ink > MAX_CUT_INK:
                    continue
                x0, y0, x1, y1 = region
                a, b = ((x0, y0, x1, position), (x0, position, x1, y1)) if axis == 0 else ((x0, y0, position, y1), (position, y0, x1, y1))
                one = self.best(a, tuple(sorted(first)))
                other = self.best(b, tuple(sorted(second))) if one else None
                if other:
                    choices.append((max(cut_ink, one[0], other[0]), one[1] + other[1]))
        return min(choices, key=lambda choice: choice[0]) if choices else None
