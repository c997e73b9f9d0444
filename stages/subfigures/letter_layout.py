"""The layout the panel letters printed in a figure draw.

A panel begins at its label, so the figure is cut, rows or columns, between groups of labels (in
the whitest line before the next group), recursively, until every region holds one label standing
at its top-left. The cuts follow the labels, not the widest gutters: a heading or legend over two
charts stays with the label above it, a panel that is a whole column beside two rows stays whole,
and a gutter inside a panel is not cut. A layout where a label is not at its region's top-left, or
a cut runs through more than a thin line of ink, is not one the labels draw, and the gutter
search decides instead.

Where one or two of the letters were not read (``missing``), as many regions hold no letter: a
region may also be cut at a white gutter into one part with all its letters and a part with none,
which is the panel of a letter not read. Of the layouts with the least ink cut, the one whose
smallest letterless panel is largest wins (a legend or an axis title is no panel).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from stages.subfigures.layout import Box, area, ink_bounds, ink_sum, intersection, reading_order, union
from stages.subfigures.letters import Glyph

# A cut may cross this share of its length in ink (a thin connector line), no more.
MAX_CUT_INK = 0.03
LETTERS_CONFIDENCE = 0.9
MAX_UNREAD = 2  # letters not read that the layout may still be drawn without
SEARCH_BUDGET = 20_000  # regions weighed before a search gives up
BLOB_GAP = 2  # pixels of white a picture's parts may have between them and still be one blob
MAX_OVERLAP = 0.1  # of the smaller of two anchored panels
ROW_WEIGHT = 2  # a letter a row higher is farther than one as far to the left: a blob joins its own row's panel

# (worst cut ink, -smallest letterless area), ((letter index or None, region), ...)
Found = tuple[tuple[float, float], tuple[tuple[int | None, Box], ...]]


def letter_layout(
    ink: np.ndarray, integral: np.ndarray, letters: list[Glyph], content: Box, places: list[int] | None = None, panels: int | None = None
) -> tuple[list[Box], float] | None:
    """One region per letter, trimmed to its ink, and the most ink any cut crossed (share of its
    length); None when the letters draw no layout. Regions come in the letters' reading order, or,
    for letters that were read (``places``: 0 for "a"), in the order of their places, the regions
    of the ``panels`` letters not read among them."""
    boxes = [g.box for g in letters]
    if places is None:
        boxes, places, panels = reading_order(boxes), list(range(len(boxes))), len(boxes)
    missing = [place for place in range(panels) if place not in places]
    if len(missing) > MAX_UNREAD:
        return None
    search = _LetterSearch(ink, integral, boxes, places, missing)
    try:
        found = search.best(content, tuple(range(len(boxes))), len(missing))
    except _TooLarge:
        return None
    if found is None:
        return None
    regions = {places[i]: region for i, region in found[1] if i is not None}
    regions.update(zip(missing, reading_order([region for i, region in found[1] if i is None])))
    return [search.trim(regions[place]) or regions[place] for place in range(panels)], found[0][0]


def anchored_layout(ink: np.ndarray, letters: list[Glyph]) -> list[Box] | None:
    """Panels that are no guillotine layout (panels that touch, or a panel that wraps round
    another) from letters that were all read, in their order: each blob of the figure's ink
    (its pictures, with gaps of up to ``BLOB_GAP`` pixels closed) joins the nearest letter
    above and to the left of its top-left corner. None where a letter gets no picture, or two
    panels overlap."""
    from scipy import ndimage

    blobs, _ = ndimage.label(ndimage.binary_dilation(ink, iterations=BLOB_GAP), structure=np.ones((3, 3), dtype=bool))
    boxes = [g.box for g in letters]
    for rows, cols in ndimage.find_objects(blobs):
        blob = (cols.start, rows.start, cols.stop, rows.stop)
        near = [
            (blob[0] - g.box[0] + ROW_WEIGHT * (blob[1] - g.box[1]), i)
            for i, g in enumerate(letters)
            if g.box[0] <= blob[0] + 2 * g.height and g.box[1] <= blob[1] + 2 * g.height
        ]
        if near:
            nearest = min(near)[1]
            boxes[nearest] = union((boxes[nearest], blob))
    if any(box[3] - box[1] < 2 * g.height or box[2] - box[0] < 2 * (g.box[2] - g.box[0]) for box, g in zip(boxes, letters)):
        return None  # a letter with no picture of its own
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if intersection(a, b) > MAX_OVERLAP * min(area(a), area(b)):
                return None
    return boxes


def letters_confidence(boxes: list[Box], worst_cut_ink: float, shape_confidence: float) -> float:
    """High where every cut ran through white space, lower as a cut crossed ink, and never above
    the layout's shape confidence (a strip is no panel, whatever its letter says)."""
    return round(min(shape_confidence, LETTERS_CONFIDENCE * (1.0 - worst_cut_ink / MAX_CUT_INK / 2)), 3)


class _LetterSearch:
    def __init__(self, ink: np.ndarray, integral: np.ndarray, letters: list[Box], places: list[int], missing: list[int]):
        self.ink, self.integral, self.letters = ink, integral, letters
        self.places, self.missing = places, missing
        self.best = lru_cache(maxsize=None)(self._best)
        self.weighed = 0

    def trim(self, box: Box) -> Box | None:
        return ink_bounds(self.ink, box)

    def at_top_left(self, letter: Box, region: Box) -> bool:
        """The letter is where a label stands: near the left and the top of its region's ink (which,
        where letters are missing, is a picture at least twice as high and as wide as the letter)."""
        trimmed = self.trim(region)
        if trimmed is None:
            return False
        h, w = letter[3] - letter[1], letter[2] - letter[0]
        if self.missing and (trimmed[3] - trimmed[1] < 2 * h or trimmed[2] - trimmed[0] < 2 * w):
            return False  # the letter cut from its picture at a gutter: the picture is no letterless panel
        return (letter[0] - trimmed[0] <= max(2 * h, 0.12 * (trimmed[2] - trimmed[0]))
                and letter[1] - trimmed[1] <= max(1.5 * h, 0.12 * (trimmed[3] - trimmed[1])))  # fmt: skip

    def line_ink(self, region: Box, axis: int, position: int) -> float:
        x0, y0, x1, y1 = region
        line = (x0, position, x1, position + 1) if axis == 0 else (position, y0, position + 1, y1)
        return ink_sum(self.integral, line) / max(1, (x1 - x0) if axis == 0 else (y1 - y0))

    def _best(self, region: Box, members: tuple[int, ...], missing: int) -> Found | None:
        """The layout of ``region`` with its ``members`` and ``missing`` letterless panels with
        the least ink cut, or None."""
        if not members:
            return self._letterless(region, missing)
        if len(members) == 1 and not missing:
            return ((0.0, 0.0), ((members[0], region),)) if self.at_top_left(self.letters[members[0]], region) else None
        self.weighed += 1
        if self.weighed > SEARCH_BUDGET:
            raise _TooLarge
        choices = []
        for axis in (0, 1):
            for position, cut_ink, first, second in self._cuts(region, members, axis, missing):
                a, b = _halves(region, axis, position)
                for lost in range(missing + 1):
                    if (not first and lost != 1) or (not second and missing - lost != 1):
                        continue  # a part with no letter is one panel, its letter not read
                    one = self.best(a, first, lost)
                    other = self.best(b, second, missing - lost) if one else None
                    if other:
                        choices.append(((max(cut_ink, one[0][0], other[0][0]), min(one[0][1], other[0][1])), one[1] + other[1]))
        return min(choices, key=lambda choice: choice[0]) if choices else None

    def _letterless(self, region: Box, missing: int) -> Found | None:
        """A region with no letter read: one panel (with ink), where one letter is missing and it
        stands where that letter's panel would, after the letters before it in reading order and
        before the letters after it."""
        trimmed = self.trim(region)
        if missing != 1 or trimmed is None or not any(self._in_place(trimmed, place) for place in self.missing):
            return None
        return (0.0, -area(trimmed)), ((None, region),)

    def _in_place(self, region: Box, place: int) -> bool:
        """Whether a panel at ``region`` comes, in reading order, after the letters of the places
        before ``place`` and before the others: a letter comes before it when it stands higher
        than its top, or beside it to the left (its rows, or up to two letter heights above them,
        where a label over its panel stands)."""
        for letter, letter_place in zip(self.letters, self.places):
            row = 2 * (letter[3] - letter[1])
            beside = letter[1] < region[3] and letter[3] > region[1] - row
            before = letter[1] < region[1] - row or (beside and letter[0] < region[0])
            if before != (letter_place < place):
                return False
        return True

    def _cuts(self, region: Box, members: tuple[int, ...], axis: int, missing: int):
        """(position, ink crossed, letters before, letters after): between groups of letters, in the
        whitest line in the half of the space before the second group's labels (the first group's
        pictures begin right after its labels), the nearest to them; and, where letters are
        missing, in the middle of every white gutter, which leaves all the letters on one side."""
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        order = sorted(members, key=lambda i: self.letters[i][lo])
        for split in range(1, len(order)):
            first, second = order[:split], order[split:]
            end, start = max(self.letters[i][hi] for i in first), min(self.letters[i][lo] for i in second)
            if start <= end:
                continue  # the groups overlap along this axis: no line between them
            position = min(range(end + (start - end) // 2, start), key=lambda p: (round(self.line_ink(region, axis, p), 3), -p))
            cut_ink = self.line_ink(region, axis, position)
            if cut_ink <= MAX_CUT_INK:
                yield position, cut_ink, tuple(sorted(first)), tuple(sorted(second))
        if missing:
            for position in self._gutter_middles(region, axis):
                before = tuple(i for i in members if self.letters[i][hi] <= position)
                if len(before) in (0, len(members)):
                    yield position, 0.0, before, tuple(i for i in members if i not in before)

    def _gutter_middles(self, region: Box, axis: int) -> list[int]:
        """The middles of the runs of lines with no ink across ``region``, ink on both sides."""
        x0, y0, x1, y1 = region
        if axis == 0:
            lines = np.arange(y0, y1)
            counts = self.integral[lines + 1, x1] - self.integral[lines, x1] - self.integral[lines + 1, x0] + self.integral[lines, x0]
        else:
            lines = np.arange(x0, x1)
            counts = self.integral[y1, lines + 1] - self.integral[y0, lines + 1] - self.integral[y1, lines] + self.integral[y0, lines]
        empty = np.concatenate(([False], counts == 0, [False]))
        edges = np.flatnonzero(np.diff(empty.astype(np.int8)))
        starts, stops = edges[::2], edges[1::2]
        return [int(lines[0] + (a + b) // 2) for a, b in zip(starts, stops) if a > 0 and b < len(lines)]


class _TooLarge(Exception):
    pass


def _halves(region: Box, axis: int, position: int) -> tuple[Box, Box]:
    x0, y0, x1, y1 = region
    return ((x0, y0, x1, position), (x0, position, x1, y1)) if axis == 0 else ((x0, y0, position, y1), (position, y0, x1, y1))
