"""Compound-figure splitting in numpy: recursive XY-cuts on near-white gutters.

The figure is reduced to a grey array no larger than ``work_side``; a pixel is background when
it is near white. A region is cut along rows (first, so that rows come out in reading order) or
columns wherever a run of background lines at least ``min_gap`` long crosses it. Pieces that are
too small to be panels (a panel letter or tick labels separated from their plot by a few white
pixels) are merged into the nearest sibling, so a single plot with white space inside stays
whole. A region whose border is a dark frame is one panel and is not cut further. Boxes are
returned in reading order in the coordinates of the image given, x1/y1 exclusive; panels are
trimmed to their ink, and a figure that is one picture comes back as the whole image.

That is the free split. With a count of panels (the caption's, or the run of letters printed in
the figure, ``reading.py``) the layout of that count is chosen: the one the letters draw
(``letter_layout.py``, panels in the letters' order), else the gutters' (``layout.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image

from stages.subfigures.layout import Box, LayoutSearch, area, gaps_between, ink_bounds, ink_integral, ink_sum, intersection, shape_confidence
from stages.subfigures.letter_layout import anchored_layout, letter_layout, letters_confidence
from stages.subfigures.letters import Glyph, find_glyphs, label_set
from stages.subfigures.reading import PrintedLabels, read_labels



@dataclass(frozen=True)
class SplitParams:
    work_side: int = 1024
    white_level: int = 240  # grey >= this is background
    # A gutter line is bright on average and has no dark pixel; a lone light-grey pixel (JPEG ringing
    # beside a dark frame) does not break it, a thin black axis line does.
    line_min_level: int = 190
    min_gap_frac: float = 0.0015  # minimum gutter, as a share of the longer side (at least 1 px)
    fragment_frac: float = 0.12  # a piece shorter than this share of its largest sibling is a fragment
    fragment_area_frac: float = 0.015  # ... or whose area is below this share of the figure
    # ... or a sparse piece (text: tick labels, a panel letter) narrower than this share of its largest sibling
    sparse_frac: float = 0.3
    sparse_density: float = 0.1
    min_panel_frac: float = 0.05  # regions smaller than this share of a side are never cut
    dark_level: int = 90  # grey <= this is ink of a frame
    max_depth: int = 6
    # Without the caption's count, read the letters printed in the figure for one. The pipeline
    # does not: a figure whose caption names no panels stays one sample, whatever is printed in it.
    read_letters: bool = True


# A layout drawn with letters not read is taken only this sure of its shapes, and is at most
# PARTIAL_CONFIDENCE sure itself (below the pipeline's default threshold: the panel of a letter
# not read is a guess, emitted only where an operator lowers min_split_confidence)
MIN_PARTIAL_SHAPE, PARTIAL_CONFIDENCE = 0.5, 0.45
SURE_FREE_SPLIT = 0.9  # a free split this sure outweighs fewer letters read
MIN_FREE_SHAPE = 0.5  # without letters, a free split with a panel this far below its share is one picture


@dataclass
class SplitResult:
    boxes: list[Box]  # reading order, in the input image's pixels
    confidence: float
    framed: int = 0
    merged_fragments: int = 0
    gaps: list[int] = field(default_factory=list)  # gutter widths used, in work pixels
    letters: int = 0  # panels the printed letters placed (0: the gutters decided)


def grey_array(image: Image.Image, work_side: int) -> tuple[np.ndarray, float]:
    """A uint8 grey array with its longer side at most ``work_side``, and the scale back to ``image``."""
    grey = image.convert("L")
    scale = 1.0
    if max(grey.size) > work_side:
        scale = max(grey.size) / work_side
        size = (max(1, round(grey.width / scale)), max(1, round(grey.height / scale)))
        # BOX keeps thin white gutters white only where they are; it never invents them.
        grey = grey.resize(size, Image.Resampling.BOX)
    return np.asarray(grey), scale


class _Splitter:
    def __init__(self, grey: np.ndarray, params: SplitParams):
        self.params = params
        self.grey = grey
        self.ink = grey < params.white_level
        self.dark = grey <= params.dark_level
        self.height, self.width = grey.shape
        self.min_gap = max(1, round(params.min_gap_frac * max(grey.shape)))
        self.area = self.height * self.width
        self.framed = 0
        self.merged = 0
        self.gaps: list[int] = []
        # Prefix sums let every row/column count of any sub-rectangle be read in O(length).
        self.integral = ink_integral(self.ink)
        self._runs: list[PrintedLabels | None] = []  # label_runs', one a glyph set
        self._free: dict[Box, tuple[list[Box], float]] = {}

    def _sum(self, box: Box) -> int:
        return ink_sum(self.integral, box)

    def trim(self, box: Box) -> Box | None:
        return ink_bounds(self.ink, box)

    def is_framed(self, box: Box) -> bool:
        """Dark lines along all four sides of a trimmed region: a frame drawn around one panel."""
        x0, y0, x1, y1 = box
        if x1 - x0 < 8 or y1 - y0 < 8:
            return False
        edges = (self.dark[y0, x0:x1], self.dark[y1 - 1, x0:x1], self.dark[y0:y1, x0], self.dark[y0:y1, x1 - 1])
        # Continuous lines only: the outline of a row of framed panels has gaps at the gutters.
        if not all(_longest_false_run(edge) <= 1 for edge in edges):
            return False
        # A frame is a thin line: just inside it the picture must not be dark all along too
        # (a dark photograph reaching the edge would otherwise count as framed).
        inset = min(6, (x1 - x0) // 4, (y1 - y0) // 4)
        inner = self.dark[y0 + inset, x0 + inset : x1 - inset]
        return inner.mean() < 0.9 or self.dark[y0 + inset : y1 - inset, x0 + inset].mean() < 0.9

    def gutters(self, box: Box, axis: int) -> list[tuple[int, int]]:
        """Runs (start, end) of background lines across ``box``; axis 0 = rows, 1 = columns."""
        x0, y0, x1, y1 = box
        region = self.grey[y0:y1, x0:x1]
        across = 1 - axis
        # the mean at least white_level, as an exact integer sum (half the time of a float mean)
        light = region.sum(axis=across, dtype=np.uint32) >= self.params.white_level * region.shape[across]
        empty = light & (region.min(axis=across) >= self.params.line_min_level)
        # runs of empty lines closed by a line with ink (one reaching the far edge is margin, not gutter)
        changes = np.flatnonzero(np.diff(empty, prepend=False)).tolist()
        offset = y0 if axis == 0 else x0
        return [(a + offset, b + offset) for a, b in zip(changes[::2], changes[1::2]) if b - a >= self.min_gap]

    def pieces(self, box: Box, axis: int) -> list[Box]:
        x0, y0, x1, y1 = box
        runs = self.gutters(box, axis)
        if not runs:
            return [box]
        bounds, start = [], (y0 if axis == 0 else x0)
        for a, b in runs:
            bounds.append((start, a))
            start = b
        bounds.append((start, y1 if axis == 0 else x1))
        out = []
        for a, b in bounds:
            piece = (x0, a, x1, b) if axis == 0 else (a, y0, b, y1)
            trimmed = self.trim(piece)
            if trimmed is not None:
                out.append(trimmed)
        return self.merge_fragments(out, axis)

    def merge_fragments(self, pieces: list[Box], axis: int) -> list[Box]:
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        while len(pieces) > 1:
            sizes = [p[hi] - p[lo] for p in pieces]
            biggest = max(sizes)
            small = [i for i, p in enumerate(pieces) if self._is_fragment(p, sizes[i], biggest)]
            if not small:
                break
            i = min(small, key=lambda k: sizes[k])
            gap_before = pieces[i][lo] - pieces[i - 1][hi] if i > 0 else None
            gap_after = pieces[i + 1][lo] - pieces[i][hi] if i + 1 < len(pieces) else None
            j = i - 1 if gap_after is None or (gap_before is not None and gap_before <= gap_after) else i + 1
            a, b = pieces[i], pieces[j]
            union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
            pieces[min(i, j)] = union
            del pieces[max(i, j)]
            self.merged += 1
        return pieces

    def _is_fragment(self, piece: Box, size: int, biggest: int) -> bool:
        area = (piece[2] - piece[0]) * (piece[3] - piece[1])
        if size < self.params.fragment_frac * biggest or area < self.params.fragment_area_frac * self.area:
            return True
        return size < self.params.sparse_frac * biggest and self._sum(piece) < self.params.sparse_density * area

    def split(self, box: Box, depth: int = 0) -> list[Box]:
        """The free split: cut at the gutters, rows first, each piece again, until nothing cuts."""
        if depth >= self.params.max_depth or not self.cuttable(box):
            return [box]
        for axis in (0, 1):
            parts = self.pieces(box, axis)
            if len(parts) > 1:
                self._record_gaps(parts, axis)
                return [leaf for part in parts for leaf in self.split(part, depth + 1)]
        return [box]

    def cuttable(self, box: Box) -> bool:
        """Regions too small to hold two panels, and framed ones, are never cut."""
        x0, y0, x1, y1 = box
        if (x1 - x0) < self.params.min_panel_frac * self.width and (y1 - y0) < self.params.min_panel_frac * self.height:
            return False
        if self.is_framed(box):
            self.framed += 1
            return False
        return True

    def layout(self, content: Box, panels: int) -> tuple[list[Box], float] | None:
        """The layout of exactly ``panels`` boxes the gutters allow best (``layout.LayoutSearch``), and its confidence."""
        counts = self.framed, self.merged  # the search weighs regions too: leave the counts to the free split
        search = LayoutSearch(self.pieces, self.cuttable, self.min_gap)
        boxes = search.layout(content, panels)
        self.framed, self.merged = counts
        return (boxes, search.confidence) if boxes else None

    @cached_property
    def glyphs(self) -> list[Glyph]:
        return find_glyphs(self.grey)

    def glyph_sets(self) -> Iterator[list[Glyph]]:
        """The dark letters, then (where the figure has dark pictures) the light ones with them: the
        second search is made only where the first gave no labels."""
        yield self.glyphs
        if self.light_glyphs:
            yield self.glyphs + self.light_glyphs

    @cached_property
    def light_glyphs(self) -> list[Glyph]:
        return find_glyphs(self.grey, light=True)

    def label_runs(self) -> Iterator[tuple[list[Glyph], PrintedLabels | None]]:
        """Each glyph set (``glyph_sets``) with the run of letters read in it, each read once."""
        for index, glyphs in enumerate(self.glyph_sets()):
            if index == len(self._runs):
                self._runs.append(read_labels(self.grey, glyphs))
            yield glyphs, self._runs[index]

    @cached_property
    def printed(self) -> PrintedLabels | None:
        """The run of letters read, from the dark letters where they read it whole, else from all."""
        found = None
        for _, run in self.label_runs():
            found = run or found
            if found and len(found.glyphs) == found.count:
                break
        return found

    def lettered(self, content: Box, panels: int) -> tuple[list[Box], float] | None:
        """The layout the figure's printed panel letters draw (``letter_layout.py``), and its
        confidence: the letters read, in their order (a, b, c), where all ``panels`` of them were
        read, else the one group of exactly ``panels`` glyphs of one size, in reading order. The
        light letters are looked for only where the dark ones give neither."""
        for glyphs, run in self.label_runs():
            read = _places(run, panels)
            if len(read) == panels:
                return self._drawn(content, panels, read)
            labels = label_set(glyphs, panels)
            if labels:
                found = letter_layout(self.ink, self.integral, labels, content)
                return found and self._confident(content, panels, *found)
        return None

    def partly_lettered(self, content: Box, panels: int) -> tuple[list[Box], float] | None:
        """What the letters read say where they draw no layout whole, at most ``PARTIAL_CONFIDENCE``
        sure: where all ``panels`` were read, the panels their pictures' blobs make (no guillotine
        layout); where one or two were not, the layout the others draw, the panels of those not
        read found at gutters where their places are."""
        read = _places(list(self.label_runs())[-1][1], panels)
        if len(read) == panels:
            boxes = anchored_layout(self.ink, [read[place] for place in range(panels)])
            found = boxes and (boxes, shape_confidence(boxes, area(content) / panels))
        else:
            found = self._drawn(content, panels, read) if len(read) >= 2 else None
        if not found or found[1] < MIN_PARTIAL_SHAPE:
            return None  # a "panel" that is a strip: an axis title or a legend, not a letter's panel
        return found[0], min(found[1], PARTIAL_CONFIDENCE)

    def free_split(self, content: Box) -> tuple[list[Box], float]:
        """The free split of ``content`` and its confidence, made once: it counts the fragments it
        merges and the frames it meets, which a second split would count again."""
        if content not in self._free:
            boxes = self.split(content)
            self._free[content] = boxes, _confidence(self, boxes, content)
        return self._free[content]

    def _drawn(self, content: Box, panels: int, read: dict[int, Glyph]) -> tuple[list[Box], float] | None:
        """The layout the letters read draw, in their order, with the panels of the letters not read."""
        places = sorted(read)
        found = letter_layout(self.ink, self.integral, [read[p] for p in places], content, places, panels)
        return found and self._confident(content, panels, *found)

    def _confident(self, content: Box, panels: int, boxes: list[Box], worst_cut_ink: float) -> tuple[list[Box], float]:
        return boxes, letters_confidence(boxes, worst_cut_ink, shape_confidence(boxes, area(content) / panels))

    def _record_gaps(self, parts: list[Box], axis: int) -> None:
        self.gaps += gaps_between(parts, axis)


def _places(run: PrintedLabels | None, panels: int) -> dict[int, Glyph]:
    """The letters of ``run`` among the first ``panels``, by place."""
    return {place: glyph for place, glyph in run.glyphs.items() if place < panels} if run else {}


def _longest_false_run(values: np.ndarray) -> int:
    gaps = np.flatnonzero(np.diff(np.concatenate(([1], values.astype(np.int8), [1]))))
    return int((gaps[1::2] - gaps[::2]).max()) if gaps.size else 0


def split_grey(grey: np.ndarray, params: SplitParams = SplitParams(), panels: int | None = None) -> SplitResult:
    """Panels of a grey array, in its own pixels; ``panels``, the count the caption names, picks the
    layout of that count: the one its printed panel letters draw where they stand out, else the
    best of those the gutters allow (the free split where none has it; one panel is the whole
    figure). Without a count, the run of letters printed in the figure gives it (``reading.py``)."""
    splitter = _Splitter(grey, params)
    content = splitter.trim((0, 0, splitter.width, splitter.height))
    if content is None or panels == 1:
        return SplitResult([(0, 0, splitter.width, splitter.height)], 0.0 if content is None else 1.0)
    boxes, confidence, lettered = _uncounted(splitter, content) if panels is None else _counted(splitter, content, panels)
    if len(boxes) == 1:
        # One picture is the figure itself, white margins included: it stays whole, as the
        # pipeline emits it (panels are cut only from compound figures).
        boxes = [(0, 0, splitter.width, splitter.height)]
    return SplitResult(boxes, confidence, splitter.framed, splitter.merged, splitter.gaps, len(boxes) if lettered else 0)


def _counted(splitter: _Splitter, content: Box, panels: int) -> tuple[list[Box], float, bool]:
    """The layout of ``panels`` boxes (boxes, confidence, drawn by letters): the letters', where every
    one was read or stands out; else the gutters', where they are sure enough to be emitted; else
    the letters', where a letter or two were not read; else the gutters' all the same; else the
    free split."""
    lettered = splitter.lettered(content, panels)
    if lettered:
        return *lettered, True
    gutters = splitter.layout(content, panels)
    if not gutters or gutters[1] < PARTIAL_CONFIDENCE:
        partly = splitter.partly_lettered(content, panels)
        if partly:
            return *partly, True
    if gutters:
        return *gutters, False
    return *splitter.free_split(content), False


def _uncounted(splitter: _Splitter, content: Box) -> tuple[list[Box], float, bool]:
    """No caption counts the panels: the letters printed in the figure may; where none are read,
    the free split stands, unless its pieces are far from equal shares (a chart cut from its
    legend, a drawing cut at its own white space), which are one picture rather than panels."""
    free, free_confidence = splitter.free_split(content)
    printed = splitter.printed if splitter.params.read_letters else None
    # letters read are at least the panels there are: a sure free split into more stands
    if printed and not (free_confidence >= SURE_FREE_SPLIT and len(free) > printed.count):
        return _counted(splitter, content, printed.count)
    if not printed and shape_confidence(free, area(content) / len(free)) < MIN_FREE_SHAPE:
        return [content], _confidence(splitter, [content], content), False
    return free, free_confidence, False


def _confidence(splitter: _Splitter, boxes: list[Box], content: Box) -> float:
    """A heuristic in [0, 1]: wide gutters, panels covering the content, few merged fragments.

    A single panel with no fragment merged is certain; every merge (a cut that was undone) and every
    narrow gutter lowers it, as does content left outside the panels.
    """
    merge_penalty = 0.1 * min(splitter.merged, 3)
    if len(boxes) == 1:
        return round(max(0.0, 1.0 - merge_penalty), 3)
    gap_score = min(1.0, min(splitter.gaps) / (3 * splitter.min_gap)) if splitter.gaps else 0.5
    covered = sum(splitter._sum(b) for b in boxes) / max(1, splitter._sum(content))
    score = (0.5 + 0.5 * gap_score) * covered - merge_penalty
    return round(float(np.clip(score, 0.0, 1.0)), 3)


def split_image(image: Image.Image, params: SplitParams = SplitParams(), panels: int | None = None) -> SplitResult:
    """Panels of ``image`` in its own pixels (boxes scaled back from the work array)."""
    grey, scale = grey_array(image, params.work_side)
    result = split_grey(grey, params, panels)
    result.boxes = [scale_box(box, scale, image.size) for box in result.boxes]
    return result


def scale_box(box: Box, scale: float, size: tuple[int, int]) -> Box:
    width, height = size
    x0, y0, x1, y1 = box
    return (
        max(0, min(width, int(np.floor(x0 * scale)))),
        max(0, min(height, int(np.floor(y0 * scale)))),
        max(0, min(width, int(np.ceil(x1 * scale)))),
        max(0, min(height, int(np.ceil(y1 * scale)))),
    )


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    union = area(a) + area(b) - inter
    return inter / union if union else 0.0


def match_boxes(
    predicted: list[Box], truth: list[Box], threshold: float = 0.5, score: Callable[[Box, Box], float] | None = None
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by ``score`` (IoU unless given), highest first: (predicted index, truth index, score)."""
    score = score or iou
    pairs = sorted(((score(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(truth)), reverse=True)
    used_p, used_t, matches = set(), set(), []
    for value, i, j in pairs:
        if value < threshold:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matches.append((i, j, value))
    return matches
