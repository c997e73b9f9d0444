"""Panel label expressions: ``A``, ``a``, ``A1``, ``A′``, ``3``, ``iv``, ranges ``A-C``/``A–C``/``A to C`` and lists ``A and B``, ``D&E``."""

from __future__ import annotations

import re
from itertools import pairwise

ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}
_ROMAN_RE = re.compile(r"^(x{0,3})(ix|iv|v?i{0,3})$", re.IGNORECASE)
_ATOM_RE = re.compile(r"^(?:[A-Za-z]\d{0,2}['′]?|\d{1,2}|[ivxIVX]{1,5})$")  # A′: a second view of panel A
_RANGE_WORDS = r"(?:to|through|thru)"  # "A to C", "A through C"
_WORDED_RANGE = re.compile(rf"\s{_RANGE_WORDS}\s")
_RANGE_SEP = re.compile(rf"\s*[-–—‐]\s*|\s+{_RANGE_WORDS}\s+")  # "A-C", "A to C", "A through C"
# What joins the labels of a range or list as a caption writes them: "A-C", "A–C", "A to C", "A, B", "A and B".
LABEL_JOINER = r"(?:\s*[-–—,&]\s*|\s+(?:and|to|through)\s+)"
_LIST_SEP = re.compile(r"\s*(?:,\s*(?:and|or)\b|,|&|/|\band\b|\bor\b)\s*")  # "c, d, and e" too
_LETTERS_PLUS = re.compile(r"[A-Za-z](?:\s*\+\s*[A-Za-z])+")
POSITION_WORDS = {"left": (None, 0), "right": (None, 2), "top": (0, None), "bottom": (2, None), "upper": (0, None),
                  "lower": (2, None), "middle": (1, 1), "center": (1, 1), "centre": (1, 1), "inset": None}


def roman_value(text: str) -> int | None:
    if not text or not _ROMAN_RE.match(text):
        return None
    values = [ROMAN[c] for c in text.lower()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def is_roman_system(atoms: list[str]) -> bool:
    """Roman numerals when a caption's labels include a multi-letter numeral (ii, iv, ...)."""
    return any(len(a) > 1 and roman_value(a) for a in atoms)


def order_key(atom: str, roman: bool) -> tuple:
    if roman and roman_value(atom):
        return (0, roman_value(atom), "")
    if atom.isdigit():
        return (0, int(atom), "")
    letter, digits, prime = atom[0].lower(), atom[1:].rstrip("'′"), atom[-1] in "'′"
    return (ord(letter), int(digits) if digits else 0, "′" if prime else "")  # A < A′ < A1 < B


def _expand_range(first: str, last: str) -> list[str] | None:
    if first.isdigit() and last.isdigit():
        a, b = int(first), int(last)
        return [str(n) for n in range(a, b + 1)] if a < b <= a + 20 else None
    ra, rb = roman_value(first), roman_value(last)
    if ra and rb and (len(first) > 1 or len(last) > 1) and first.islower() == last.islower():
        return [_to_roman(n, first.islower()) for n in range(ra, rb + 1)] if ra < rb else None
    if len(first) == 1 and len(last) == 1 and first.isalpha() and last.isalpha() and first.islower() == last.islower():
        a, b = ord(first), ord(last)
        return [chr(c) for c in range(a, b + 1)] if a < b <= a + 15 else None
    if first[0] == last[0] and first[1:].isdigit() and last[1:].isdigit():  # A1-A3
        a, b = int(first[1:]), int(last[1:])
        return [f"{first[0]}{n}" for n in range(a, b + 1)] if a < b <= a + 20 else None
    return None


def _to_roman(number: int, lower: bool) -> str:
    out = ""
    for value, symbol in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while number >= value:
            out, number = out + symbol, number - value
    return out if lower else out.upper()


def parse_label_expression(text: str) -> list[str] | None:
    """The labels an expression names, in order, or None when it is not a label expression."""
    text = text.strip().strip(".")
    if not text or len(text) > 24:
        return None
    if "+" in text:  # "A+B" joins panels; "3+4" is a Gleason score
        if not _LETTERS_PLUS.fullmatch(text):
            return None
        text = text.replace("+", ",")
    labels: list[str] = []
    for part in _LIST_SEP.split(text):
        if not part:
            return None
        bounds = _RANGE_SEP.split(part)
        if len(bounds) == 1:
            if not _ATOM_RE.match(part):
                return None
            labels.append(part)
        elif len(bounds) == 2 and all(_ATOM_RE.match(b) for b in bounds):
            if _WORDED_RANGE.search(part) and not all(b.isalpha() and len(b) == 1 for b in bounds):
                return None  # "(1 to 5)" is a scale; only letters run "A to C"
            expanded = _expand_range(*bounds)
            if expanded is None:
                return None
            labels += expanded
        else:
            return None
    letters = [ord(label) for label in labels if len(label) == 1 and label.isalpha()]
    same_case = len({label.isupper() for label in labels}) == 1
    if same_case and len(letters) == len(labels) and any(b <= a for a, b in pairwise(letters)):
        return None  # "H and E" is a stain; panel lists run forwards
    return labels


def position_label(text: str) -> str | None:
    """``left``, ``top left``, ``right panel`` ... -> a normalised position label."""
    words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w and w not in ("panel", "panels", "image", "images")]
    if not words or len(words) > 2 or not all(w in POSITION_WORDS for w in words):
        return None
    return " ".join(words)


def position_key(label: str) -> tuple[int, int] | None:
    """(row, column) rank of a position label; None for ``inset`` (not a panel of its own)."""
    row, col = 1, 1
    for word in label.split():
        ranks = POSITION_WORDS[word]
        if ranks is None:
            return None
        row = ranks[0] if ranks[0] is not None else row
        col = ranks[1] if ranks[1] is not None else col
    return row, col
