"""Reading the printed panel labels: which letter a glyph is, and the run of labels a figure prints.

A panel label is one glyph set alone (``letters.find_glyphs``), so it is read by matching its
shape against the letters and digits of the fonts figures are set in (Helvetica and Times, plain
and bold, which PyMuPDF carries inside its wheel: nothing is downloaded). The shape is the
glyph's ink scaled to a small square, compared by correlation, with its width-to-height ratio
beside it. Digits are read too, so that tick labels read as digits, not as the letters they
resemble.

The figure's labels are then the longest run of letters of one size and one case that starts at
"a" (or at "b", its "a" unread, with three or more read) and misses at most ``MAX_MISSING``
letters in a row: tick labels and single-letter words rarely spell a, b, c. A glyph may be read
as any letter it matches nearly as well as its best (``CLOSE``), and each run takes the readings
that make it longest. Its last letter gives the count of panels.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from stages.subfigures.letters import BAR_ASPECT, BAR_DENSITY, GLYPH_INK_LEVEL, Glyph

SIDE = 16  # glyphs are compared as SIDE x SIDE squares
FONTS = ("helv", "hebo", "tiro", "tibo")  # PyMuPDF's Helvetica, Helvetica-Bold, Times-Roman, Times-Bold
CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
ASPECT_WEIGHT = 0.5  # a log width-to-height ratio unlike the letter's costs this much correlation
MIN_SCORE = 0.6  # a glyph matching no letter this well is not read
CLOSE = 0.1  # a glyph may be any character it matches this nearly as well as its best
MAX_MISSING = 2  # letters of a run left unread in a row
MIN_READ_SHARE = 0.6  # of the run's letters a to its last
# Lowercase letters of x-height stand this much lower than capitals and ascenders of one font;
# the letters that look the same in both cases may be either.
X_HEIGHT_LETTERS, X_HEIGHT = set("acemnorsuvwxz"), 1.4
EITHER_CASE = set("cosuvwxz")
SAME_SIZE = 0.2


@dataclass(frozen=True)
class Reading:
    glyph: Glyph
    character: str
    score: float

    @property
    def ordinal(self) -> int:
        return ord(self.character.lower()) - ord("a")

    def sizes(self) -> set[float]:
        """The glyph's height as a capital's: x-height letters stand taller, either-case letters may be both."""
        lower = self.character.lower()
        if lower in EITHER_CASE:
            return {self.glyph.height, self.glyph.height * X_HEIGHT}
        return {self.glyph.height * (X_HEIGHT if self.character in X_HEIGHT_LETTERS else 1.0)}

    def same_kind(self, other: "Reading") -> bool:
        """Set in one case and one size: labels of one figure are."""
        cases_agree = (
            self.character.isupper() == other.character.isupper() or {self.character.lower(), other.character.lower()} & EITHER_CASE
        )
        return bool(cases_agree) and any(abs(a - b) <= max(1.5, SAME_SIZE * b) for a in self.sizes() for b in other.sizes())


@dataclass(frozen=True)
class PrintedLabels:
    count: int  # the last label's place in the alphabet: the figure's panels
    glyphs: dict[int, Glyph]  # the labels read, by place (0 for "a"); some may be missing


def read_labels(grey: np.ndarray, glyphs: list[Glyph]) -> PrintedLabels | None:
    """The run of panel labels printed in the figure, or None where no such run stands out.

    A glyph may be read as any letter it matches nearly as well as its best (a light "F" much
    like an "r"); each kind of label (one case, one size) takes the reading of each glyph that
    makes its run longest, one glyph a letter."""
    candidates = [found for found in (readings(grey, glyph) for glyph in glyphs) if found]
    best_read = {id(found[0]) for found in candidates}
    best: tuple[tuple[int, int], PrintedLabels] | None = None
    kinds = set()
    for seed in (found[0] for found in candidates if found[0].character.isalpha()):
        kind = (seed.character.isupper(), seed.character.lower() in EITHER_CASE, frozenset(seed.sizes()))
        if kind in kinds:
            continue  # the same group as a seed before
        kinds.add(kind)
        by_place: dict[int, list[Reading]] = {}
        for found in candidates:
            for reading in found:
                if reading.character.isalpha() and reading.same_kind(seed):
                    by_place.setdefault(reading.ordinal, []).append(reading)
        chosen = _assign(by_place)
        run = _run_from_a(sorted(chosen))
        if not run or len(run) < max(2 if run[0] == 0 else 3, MIN_READ_SHARE * (run[-1] + 1)):
            continue
        # the same letters again and again (best read so, and left over): tick labels or words, not labels
        used = {chosen[place] for place in run}
        repeated = sum(1 for place in run for reading in by_place[place] if reading.glyph not in used and id(reading) in best_read)
        if repeated * 3 > len(run):
            continue
        found = PrintedLabels(run[-1] + 1, {place: chosen[place] for place in run})
        if best is None or (len(run), found.count) > best[0]:
            best = ((len(run), found.count), found)
    return best[1] if best else None


def _assign(by_place: dict[int, list[Reading]]) -> dict[int, Glyph]:
    """One glyph a place and one place a glyph, from "a" on: each place takes its best-read glyph not taken yet."""
    chosen: dict[int, Glyph] = {}
    for place in sorted(by_place):
        free = [reading for reading in by_place[place] if reading.glyph not in chosen.values()]
        if free:
            chosen[place] = max(free, key=lambda reading: reading.score).glyph
    return chosen


def _run_from_a(places: list[int]) -> list[int]:
    """The places from the first (a or b) on, up to the first gap of more than MAX_MISSING."""
    if not places or places[0] > 1:
        return []
    run = [places[0]]
    for place in places[1:]:
        if place - run[-1] - 1 > MAX_MISSING:
            break
        run.append(place)
    return run


def read_glyph(grey: np.ndarray, glyph: Glyph) -> Reading | None:
    """The letter or digit ``glyph`` matches best, at least ``MIN_SCORE`` well, or None."""
    found = readings(grey, glyph)
    return found[0] if found else None


def readings(grey: np.ndarray, glyph: Glyph) -> list[Reading]:
    """The characters ``glyph`` matches within ``CLOSE`` of its best, best first; none where the
    best is below ``MIN_SCORE``."""
    x0, y0, x1, y1 = glyph.box
    crop = grey[y0:y1, x0:x1]
    dark = 255 - crop if glyph.light else crop  # the glyph as dark ink on light
    shape = _shape(dark)
    if shape is None:
        return []
    vector, aspect = shape
    if aspect < BAR_ASPECT[1] and np.mean(dark < GLYPH_INK_LEVEL) >= BAR_DENSITY:
        return [Reading(glyph, "I", 1.0), Reading(glyph, "l", 1.0)]  # a solid bar: of the letters, a sans-serif "I" or "l"
    vectors, aspects = _templates()
    scores = vectors @ vector - ASPECT_WEIGHT * np.abs(np.log(aspects / aspect))
    top = float(scores.max())
    if top < MIN_SCORE:
        return []
    found: dict[str, float] = {}
    for index in np.flatnonzero(scores >= top - CLOSE):
        character = CHARACTERS[index % len(CHARACTERS)]
        found[character] = max(found.get(character, -1.0), float(scores[index]))
    return [Reading(glyph, character, score) for character, score in sorted(found.items(), key=lambda item: -item[1])]


def _shape(grey: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Dark ink on light, cropped to the ink, as a zero-mean unit vector of SIDE x SIDE; and width / height."""
    ink = 255 - grey
    rows, cols = np.nonzero(ink > 76)
    if rows.size == 0:
        return None
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    square = np.asarray(Image.fromarray(np.ascontiguousarray(ink)).resize((SIDE, SIDE), Image.Resampling.BILINEAR), dtype=np.float32).ravel()
    square -= square.mean()
    norm = np.linalg.norm(square)
    return (square / norm if norm else square), ink.shape[1] / ink.shape[0]


@lru_cache(maxsize=1)
def _templates() -> tuple[np.ndarray, np.ndarray]:
    """Every character of every font, drawn large and shaped as a glyph is: (vectors, aspects), font-major."""
    import io

    import pymupdf
    from PIL import ImageDraw, ImageFont

    vectors, aspects = [], []
    for name in FONTS:
        font = ImageFont.truetype(io.BytesIO(pymupdf.Font(name).buffer), 64)
        for character in CHARACTERS:
            canvas = Image.new("L", (120, 120), 255)
            ImageDraw.Draw(canvas).text((20, 10), character, font=font, fill=0)
            vector, aspect = _shape(np.asarray(canvas))
            vectors.append(vector)
            aspects.append(aspect)
    return np.array(vectors), np.array(aspects)
