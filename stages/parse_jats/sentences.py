"""Sentence splitting for captions and the body sentences that cite figures.

The stock sentencizer breaks after "Fig." and "et al." and glues a panel label ("(B)", "C.") to the
end of the previous sentence. Here a sentence ends at ``.``, ``!`` or ``?`` followed by space and
then an upper-case letter, an opening bracket or quote, or a lower-case panel label ("b)", "ii."), but not after an abbreviation (Fig.,
et al., e.g., i.e., vs. ...) or after a lone panel label such as "C."
at the start of a sentence. A panel label opening a sentence stays with the text it labels.
"""

from __future__ import annotations

import re

# Not here on purpose: "s.e.m.", "s.d.", "min." usually end a caption's sentence ("mean ± s.e.m.").
ABBREVIATIONS = {
    "fig", "figs", "al", "e.g", "i.e", "vs", "cf", "ca", "approx", "resp", "no", "nos", "ref", "refs", "eq", "eqs",
    "sec", "suppl", "dr", "st", "mr", "ms", "prof", "var", "sp", "spp", "subsp",
}  # fmt: skip
# A candidate boundary: terminal punctuation (with closing quotes or brackets), whitespace, then what may start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d)\]]*\s+(?=[A-Z\u0391-\u03a9(\[\"'\u201c]|\(?(?:[a-h]|[ivx]{1,4})[.)]\s)")
_LONE_LABEL = re.compile(r"^\(?[A-Za-z]{1,2}\d?\)?[.:]$|^\(?[ivx]{1,4}\)?[.:]$")


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()].strip()
        if not candidate or _ends_in_abbreviation(candidate) or _LONE_LABEL.match(candidate):
            continue  # not a sentence end: keep reading (a lone "C." label stays with its text)
        sentences.append(candidate)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _ends_in_abbreviation(sentence: str) -> bool:
    words = sentence.rsplit(maxsplit=1)
    word = words[-1].lower().strip("(\"'[") if words else ""
    return word.endswith(".") and word[:-1] in ABBREVIATIONS
