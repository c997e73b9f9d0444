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
from dataclasses import replace

from stages.subcaptions.labels import parse_label_expression

_CITATION = re.compile(
    r"\b(?:in|panels?|see)\s+(?P<letters>[A-Za-z](?:\s*(?:,|and|&|-|–)\s*[A-Za-z])*)(?![\w'′’-])"
)


def with_cited_panels(split):
    """``split`` with a segment for every letter its run lacks and its caption cites (see above)."""
    from stages.subcaptions.split import Segment

    labels = split.labels()
    if len(labels) < 2 or not all(len(label) == 1 and label.isalpha() for label in labels):
        return split
    upper = labels[0].isupper()
    if any(label.isupper() != upper for label in labels):
        return split
    named = {ord(label.lower()) for label in labels}
    cited = cited_letters(split.caption, upper)
    missing = [code for code in range(min(named), max(named)) if code not in named]
    following = max(named) + 1
    while following in cited:
        missing.append(following)
        following += 1
    if not missing or any(code not in cited for code in missing):
        return split
    case = str.upper if upper else str.lower
    added = tuple(Segment((case(chr(code)),), "", False) for code in missing)
    return replace(split, segments=split.segments + added)


def cited_letters(text: str, upper: bool) -> set[int]:
    """The letters (as ``ord`` of the lowercase) of one case that ``text`` cites after ``in``, ``panel`` or ``see``."""
    cited = set()
    for match in _CITATION.finditer(text):
        for letter in parse_label_expression(match["letters"]) or []:
            if len(letter) == 1 and letter.isupper() == upper:
                cited.add(ord(letter.lower()))
    return cited
