"""Figure labels as the XML writes them, and whether a caption on a PDF page starts with one.

A label becomes a pattern for the start of a caption line: "Fig."/"Figure"/"FIGURE" are one word,
punctuation and spacing are loose ("Fig. 2", "FIGURE 2:", "Figure 2." and "Fig 2" all match
"Figure 2"), and the label must end there ("Figure 1" never matches "Figure 10" or "Figure 1A").
An unnumbered label ("Figure.", an article with one figure) matches only when punctuation or the
end of the line follows the word, so "Figure shows ..." in body text does not.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FIGURE_WORDS = {"fig", "figs", "figure", "figures"}
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")
_CAPTION_PUNCTUATION = r"[.:|\u2014\u2013-]"


class LabelPattern(NamedTuple):
    label: str
    regex: re.Pattern[str]
    numbered: bool


class CaptionMatch(NamedTuple):
    punctuated: bool  # punctuation or the line's end follows the label, as in a caption (not "Figure 2 shows")


def _token_pattern(token: str, last: bool) -> str:
    # A word's abbreviation dot is part of the label ("Fig. 2"), except after the last word, where
    # the dot is the caption's punctuation ("Figure. Transcriptional ...").
    dot = "" if last else r"\.?"
    if token.lower() in _FIGURE_WORDS:
        return r"fig(?:ure)?s?" + dot
    if token.isalpha():
        return re.escape(token) + dot
    if token.isdigit():
        return re.escape(token)
    return r"[^\w\s]?"  # any one punctuation mark, or none, where the label has one


def label_pattern(label: str) -> LabelPattern | None:
    """The caption-start pattern of an XML ``<label>``; None for a label with no word or number in it."""
    tokens = _TOKEN.findall(label)
    while tokens and not tokens[-1][0].isalnum():
        tokens.pop()
    while tokens and not tokens[0][0].isalnum():
        tokens.pop(0)
    if not tokens:
        return None
    body = r"\s*".join(_token_pattern(token, i == len(tokens) - 1) for i, token in enumerate(tokens))
    regex = re.compile(r"^\s*" + body + r"(?![^\W_])", re.IGNORECASE)
    return LabelPattern(label, regex, numbered=any(token.isdigit() for token in tokens))


def match_caption(pattern: LabelPattern, line: str) -> CaptionMatch | None:
    """Whether a text line (the first line of a block) starts with the label."""
    line = " ".join(line.split())
    match = pattern.regex.match(line)
    if not match:
        return None
    rest = line[match.end() :]
    punctuated = rest.strip() == "" or re.match(r"\s*" + _CAPTION_PUNCTUATION, rest) is not None
    if not pattern.numbered and (not punctuated or re.match(r"\s*" + _CAPTION_PUNCTUATION + r"?\s*\d", rest)):
        return None  # "Figure shows ..." or "Figure 3" is not the unnumbered "Figure."
    return CaptionMatch(punctuated)
