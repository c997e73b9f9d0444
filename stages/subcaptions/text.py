"""Sentence and clause boundaries in a caption, and tidying of cut pieces; abbreviations such as
``Fig.`` and ``et al.`` end no sentence."""

from __future__ import annotations

import re

# A piece ending in one of these words goes on in the next piece.
_CONTINUES = re.compile(r"\b(of|for|in|on|with|and|or|the|a|an|to|by|from|at|as|against|between)$")
ABBREVIATIONS = ("fig.", "figs.", "al.", "e.g.", "i.e.", "vs.", "no.", "ca.", "approx.", "resp.", "sp.", "spp.", "dr.", "prof.")


def at_clause_start(text: str, index: int) -> bool:
    end = _before_spaces(text, index)
    if end == 0:
        return True
    if text[end - 1] in ";:":
        return True
    return text[end - 1] in ".!?" and not ends_with_abbreviation(text, end)


def after_list_comma(text: str, index: int) -> bool:
    """Whether ``text[:index]`` ends a list item: a comma, or ``, and``/``; or`` (spaces after any)."""
    end = _before_spaces(text, index)
    if text[end - 1 : end] == ",":
        return True
    for word in ("and", "or"):
        start = end - len(word)
        if start > 0 and text[start:end] == word:
            head = _before_spaces(text, start)
            return head < start and text[head - 1 : head] in (",", ";")
    return False


def ends_with_abbreviation(text: str, end: int | None = None) -> bool:
    """``... et al.``, ``(Fig.`` (``text`` up to ``end``); a whole word, so ``survival.`` is no ``al.``."""
    return _last_word(text, len(text) if end is None else end).lstrip("([").lower() in ABBREVIATIONS


def _last_word(text: str, end: int) -> str:
    """The last whitespace-separated word of ``text[:end]``, read backwards from ``end`` (markers ask
    this at every token, and a copy of the whole prefix each time made long captions quadratic)."""
    stop = _before_spaces(text, end)
    start = stop
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:stop]


def _before_spaces(text: str, index: int) -> int:
    """``index`` moved back over the whitespace right before it."""
    while index > 0 and text[index - 1].isspace():
        index -= 1
    return index


def sentence_start(text: str, index: int) -> int:
    """Offset of the start of the sentence holding ``index``."""
    for match in reversed(list(re.finditer(r"[.!?]\s+", text[:index]))):
        if not ends_with_abbreviation(text, match.start() + 1):
            return match.end()
    return 0


def sentence_end(text: str, index: int) -> int:
    """Offset just past the sentence that holds ``index`` (the start of the next one)."""
    for match in re.finditer(r"[.!?](\s+|$)", text[index:]):
        if not ends_with_abbreviation(text, index + match.start() + 1):
            return index + match.end()
    return len(text)


# A full stop before a capital, before a list of abbreviations ("... views. bo, basioccipital; bs,
# ...") or before a count or test written in lower case ("... test. n = 8 per group", "p < 0.05").
_LOWERCASE_NOTE = r"[np] ?[=<>≤≥]"
_SENTENCE_BREAK = re.compile(rf"[.!?]\s+(?=[A-Z(*\[]|[a-z][\w.]{{0,8}}, [^;,.]+;|{_LOWERCASE_NOTE})")


def split_sentences(text: str) -> list[str]:
    starts = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(text) if not ends_with_abbreviation(text, m.start() + 1)]
    return [text[a:b].strip() for a, b in zip(starts, starts[1:] + [len(text)]) if text[a:b].strip()]


def clean(piece: str) -> str:
    return re.sub(r"^[\s,;:.\-–]+|[\s,;]+$", "", piece)


def join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def join_sentences(*parts: str) -> str:
    """Pieces joined as sentences: a piece that ends mid-sentence before one that opens a new
    sentence (a capital, or a count such as ``n = 8``) gets a full stop, so ``Lung`` + ``Expression is ...`` reads ``Lung. Expression is ...``."""
    pieces = [p.strip() for p in parts if p and p.strip()]
    out = []
    for piece, following in zip(pieces, pieces[1:] + [""]):
        ends_open = (piece[-1].isalnum() or piece[-1] in ")]%") and not _CONTINUES.search(piece)
        opens = following.lstrip("[")[:1].isupper() or re.match(_LOWERCASE_NOTE, following)
        out.append(piece + "." if ends_open and opens else piece)
    return " ".join(out)
