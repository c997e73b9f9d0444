"""Choosing the panel layout with the count the caption names, among the cuts the gutters allow.

The XY-cut splitter cuts a region into rows (or columns) at its gutters, and each piece again; the
pieces that are not cut further are its panels. Real figures are cut too finely there (a chart's
legend, its axis titles or a heading become pieces of their own) and, where panels touch, too
coarsely. When the caption names how many panels there are, the layout is chosen among the
guillotine layouts the gutters allow: a region is one panel, or is cut into its rows (or columns)
and any run of neighbouring rows is joined into one region again, which may then be cut the other
way. Of the layouts with exactly that count, the best keeps its cuts on the widest gutters, joins
pieces only across narrow ones, and has no panel much smaller or thinner than its share of the figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

Box = tuple[int, int, int, int]
Layout = tuple[float, tuple[Box, ...]]  # score, boxes in reading order

# A panel whose area is below this share of an equal split of the content costs its shortfall, and
# so does one whose shorter side is below this share of that split's side (a strip of axis titles
# or a heading is not a panel).
SMALL_PANEL_SHARE = 0.35
THIN_PANEL_SHARE = 0.3
SMALL_PANEL_COST = 4.0
ROWS, COLUMNS = 0, 1
# Regions weighed before the search gives up and the free split stands: the real gold needs at most
# 2,929 (an 18-panel figure, 0.4 s); a dense grid would take seconds a figure past this.
SEARCH_BUDGET = 5_000


class SearchTooLarge(Exception):
    pass


def union(boxes: list[Box] | tuple[Box, ...]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def intersection(a: Box, b: Box) -> int:
    """The area two boxes share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def ink_integral(ink: np.ndarray) -> np.ndarray:
    """Prefix sums of an ink mask, padded with a zero row and column: any box's ink count in O(1)."""
    integral = np.zeros((ink.shape[0] + 1, ink.shape[1] + 1), np.int32)
    inner = integral[1:, 1:]
    np.cumsum(ink, axis=0, dtype=np.int32, out=inner)  # in place, no temporaries: several times faster than cumsum + pad
    np.cumsum(inner, axis=1, out=inner)
    return integral


def ink_sum(integral: np.ndarray, box: Box) -> int:
    """Ink pixels in ``box``, from ``ink_integral``'s prefix sums."""
    x0, y0, x1, y1 = box
    return int(integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0])


def ink_bounds(ink: np.ndarray, box: Box) -> Box | None:
    """``box`` trimmed to the ink inside it (an ink mask's pixels); None where it holds none."""
    x0, y0, x1, y1 = box
    region = ink[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
    if rows.size == 0:
        return None
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def gaps_between(pieces: list[Box], axis: int) -> list[int]:
    lo, hi = (1, 3) if axis == ROWS else (0, 2)
    return [b[lo] - a[hi] for a, b in zip(pieces, pieces[1:])]


class LayoutSearch:
    """``pieces(box, axis)`` cuts a region at its gutters (rows for axis 0, columns for 1; one piece
    when none crosses it); ``cuttable(box)`` says whether a region may be cut at all."""

    def __init__(self, pieces: Callable[[Box, int], list[Box]], cuttable: Callable[[Box], bool], min_gap: int):
        self._pieces = lru_cache(maxsize=None)(pieces)
        self.cuttable = lru_cache(maxsize=None)(cuttable)  # a region's frame is looked for once
        self.min_gap = max(1, min_gap)
        # Caches live on the instance: one search per figure, freed with it.
        self.best = lru_cache(maxsize=None)(self._best)
        self._groups = lru_cache(maxsize=None)(self._groups_of)
        self.weighed = 0
        self.confidence = 0.0
        self.joined_cost = lru_cache(maxsize=None)(self._joined_cost)

    def layout(self, content: Box, panels: int) -> list[Box] | None:
        """The best layout of exactly ``panels`` boxes in reading order, or None when none has that count.
        ``confidence`` says then how sure it is: the lower of its shape and gutter confidences."""
        self.fair_area = area(content) / panels
        try:
            found = self.best(content, panels, (ROWS, COLUMNS))
            if not found:
                return None
            boxes = list(found[1])
            self.confidence = round(min(self.shape_confidence(boxes), self.gutter_confidence(boxes)), 3)
        except SearchTooLarge:
            return None
        finally:
            self._forget()
        return reading_order(boxes)

    def shape_confidence(self, boxes: list[Box]) -> float:
        return shape_confidence(boxes, self.fair_area)

    def gutter_confidence(self, boxes: list[Box]) -> float:
        """1 when no panel holds a gutter wider than the narrowest space between two panels; else
        their ratio: a layout that joins across a wide gutter while it cuts at a narrow one (or
        between touching pieces) is one the count forced, not one the figure shows."""
        inside = max((gap for box in boxes for axis in (ROWS, COLUMNS) for gap in gaps_between(self.cut(box, axis), axis)), default=0)
        if inside == 0:
            return 1.0
        between = min(max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) for a in boxes for b in boxes if a != b)
        return min(1.0, max(0, between) / inside)

    def _forget(self) -> None:
        """Drop what the search remembered, and the figure's arrays with the splitter: a worker
        splits figure after figure, and nothing of one should outlive it."""
        for cache in (self.best, self._groups, self.joined_cost, self._pieces, self.cuttable):
            cache.cache_clear()
        self._pieces = self.cuttable = None

    def gap_strength(self, gap: int) -> float:
        return math.log1p(gap / self.min_gap)

    def panel_cost(self, box: Box) -> float:
        return panel_cost(box, self.fair_area)

    def cut(self, box: Box, axis: int) -> list[Box]:
        return self._pieces(box, axis) if self.cuttable(box) else [box]

    def _joined_cost(self, box: Box) -> float:
        """What keeping a region as one panel costs: every gutter inside it, rows first as the free split cuts."""
        for axis in (ROWS, COLUMNS):
            pieces = self.cut(box, axis)
            if len(pieces) > 1:
                return sum(map(self.gap_strength, gaps_between(pieces, axis))) + sum(map(self.joined_cost, pieces))
        return 0.0

    def _best(self, box: Box, count: int, axes: tuple[int, ...]) -> Layout | None:
        self.weighed += 1
        if self.weighed > SEARCH_BUDGET:
            raise SearchTooLarge
        if count == 1:
            return -self.joined_cost(box) - self.panel_cost(box), (box,)
        choices = []
        for axis in axes:
            pieces = tuple(self.cut(box, axis))
            if len(pieces) > 1:
                found = self._groups(pieces, tuple(gaps_between(list(pieces), axis)), 1 - axis, count, True)
                if found:
                    choices.append(found)
        return max(choices, key=lambda choice: choice[0]) if choices else None

    def _groups_of(self, pieces: tuple[Box, ...], gaps: tuple[int, ...], other_axis: int, count: int, whole: bool) -> Layout | None:
        """``pieces`` (cut along one axis) as ``count`` panels: a first run of pieces, then the rest.
        A run of two or more pieces is joined into one region, which may be cut along the other axis;
        where ``pieces`` are the whole region that was cut, one run of them all is that region again."""
        if count < 1 or not pieces:
            return None
        choices = []
        for end in range(1, len(pieces)):
            for used in range(1, count):
                head = self._run(pieces[:end], gaps[: end - 1], other_axis, used)
                tail = self._groups(pieces[end:], gaps[end:], other_axis, count - used, False) if head else None
                if tail:
                    choices.append((head[0] + self.gap_strength(gaps[end - 1]) + tail[0], head[1] + tail[1]))
        if not (whole and count > 1):
            choices.append(self._run(pieces, gaps, other_axis, count))  # all the pieces as one run
        choices = [choice for choice in choices if choice]
        return max(choices, key=lambda choice: choice[0]) if choices else None

    def _run(self, run: tuple[Box, ...], inner_gaps: tuple[int, ...], other_axis: int, count: int) -> Layout | None:
        if len(run) == 1:
            return self.best(run[0], count, (ROWS, COLUMNS))
        joined = self.best(union(run), count, (other_axis,))
        if joined is None:
            return None
        return joined[0] - sum(map(self.gap_strength, inner_gaps)), joined[1]


def panel_cost(box: Box, fair_area: float) -> float:
    """What a panel much smaller or thinner than an equal share (``fair_area``) of the content costs."""
    small = 1.0 - area(box) / (SMALL_PANEL_SHARE * fair_area)
    thin = 1.0 - min(box[2] - box[0], box[3] - box[1]) / (THIN_PANEL_SHARE * math.sqrt(fair_area))
    return SMALL_PANEL_COST * (max(0.0, small) + max(0.0, thin))


def shape_confidence(boxes: list[Box], fair_area: float) -> float:
    """1 when no panel is a small or thin strip, less by how far the worst one is."""
    return max(0.0, 1.0 - max(panel_cost(box, fair_area) for box in boxes) / SMALL_PANEL_COST)


def reading_order(boxes: list[Box]) -> list[Box]:
    """Rows top to bottom (boxes overlapping a row's vertical band join it), left to right inside a row."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        for row in rows:
            top, bottom = min(b[1] for b in row), max(b[3] for b in row)
            if min(bottom, box[3]) - max(top, box[1]) > 0.5 * (box[3] - box[1]):
                row.append(box)
                break
        else:
            rows.append([box])
    return [box for row in rows for box in sorted(row, key=lambda b: b[0])]
