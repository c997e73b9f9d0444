"""Panels a caption names only by citing them: ``B, Co-immunoprecipitation ... N=3, quantified in C.``

A caption's panel letters form one run. Where its markers leave a hole in the run (A, B, D), or
stop right before letters the caption goes on to cite (``Results quantified in E and F``), and the
caption cites every missing letter after ``in``, ``panel`` or ``see``, those panels exist: the
run says so. Each gets what the caption says of every panel, as a panel named only on the image
does: the citing sentence is as often about the panel it quantifies as about the cited one (given
it, the cited panels of the check parts read worse). A hole the caption does not cite stays a
hole, and the run stays broken as before.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stages.subcaptions.labels import parse_label_expression

_CITATION = re.compile(
    r"\b(?:in|panels?|see)\s+(?P<letters>[A-Za-z](?:\s*(?:,|and|&|-|–)\s*[A-Za-z])*)(?![\w'′’-])"
)


def cited_panels(caption: str, labels: list[str]) -> list[str]:
    """The letters ``labels`` (a caption's labels, in any order) lack and ``caption`` cites (see above)."""
    if len(labels) < 2 or not all(len(label) == 1 and label.isalpha() for label in labels):
        return []
    upper = labels[0].isupper()
    if any(label.isupper() != upper for label in labels):
        return []
    named = {ord(label.lower()) for label in labels}
    cited = {ord(letter.lower()) for letter in cited_letters(caption) if letter.isupper() == upper}
    missing = [code for code in range(min(named), max(named)) if code not in named]
    following = max(named) + 1
    while following in cited:
        missing.append(following)
        following += 1
    if any(code not in cited for code in missing):
        return []
    case = str.upper if upper else str.lower
    return [case(chr(code)) for code in missing]


@lru_cache(maxsize=256)
def cited_letters(text: str) -> frozenset[str]:
    """The single letters, as written, that ``text`` cites after ``in``, ``panel`` or ``see`` (read
    once a caption: the marker filters and ``cited_panels`` all ask)."""
    return frozenset(
        letter for match in _CITATION.finditer(text) for letter in parse_label_expression(match["letters"]) or [] if len(letter) == 1
    )
