"""Subcaptions to panels: by label order and reading order, cross-checked, or not at all.

Panels come in reading order; caption labels are sorted in their own order (A < B, 1 < 2, i < ii,
top-left < bottom-right for position words). They are paired only when the counts agree, the
labels form one run from the first letter, and every panel letter the in-text mentions name is
among them. Anything else is ``none``: the figure stays whole with its full caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.subcaptions.labels import (
    is_roman_system,
    order_key,
    parse_label_expression,
    position_key,
)
from stages.subcaptions.split import CaptionSplit, split_caption

_FIGURE_REF = re.compile(
    r"\bFig(?:ure)?s?\.?\s*(?P<number>\d+)\s*\(?(?P<letters>[A-Za-z](?![A-Za-z])(?:\s*(?:[-–,&]|and)\s*[A-Za-z](?![A-Za-z]))*)"
)


@dataclass(frozen=True)
class Alignment:
    method: str  # "single", "label_order", "position" or "none"
    labels: tuple[str | None, ...]  # per panel, reading order
    subcaptions: tuple[str | None, ...]
    reason: str = ""


def mentioned_letters(mentions: list[str], figure_number: int | None) -> set[str]:
    """Panel letters the body names for this figure: ``Figure 2B``, ``Fig. 2C-E``, ``Fig. 2 (A and B)``."""
    if figure_number is None:
        return set()
    letters: set[str] = set()
    for sentence in mentions:
        for match in _FIGURE_REF.finditer(sentence):
            if int(match["number"]) == figure_number:
                named = parse_label_expression(match["letters"]) or []
                # "Fig. 1B, a decrease": a list continues only in the case it started in.
                letters.update(label.lower() for label in named if label.isupper() == named[0].isupper())
    return letters


def figure_number(label: str | None) -> int | None:
    match = re.search(r"\d+", label or "")
    return int(match.group()) if match else None


def caption_panels(split: CaptionSplit) -> tuple[list[str], str, str]:
    """The caption's panel labels in panel order, how they are ordered (``position`` or
    ``label_order``), and what is wrong with them as one run of labels (empty when nothing)."""
    labels = split.labels()
    if labels and all(s.position for s in split.segments):
        keyed = [(position_key(label), label) for label in labels]
        keyed = [(key, label) for key, label in keyed if key is not None]  # insets are not panels
        return [label for _, label in sorted(keyed)], "position", ""
    roman = is_roman_system(labels)
    ordered = sorted(labels, key=lambda label: order_key(label, roman))
    return ordered, "label_order", _run_problem(ordered, roman) if ordered else ""


def expected_panels(caption: str) -> int | None:
    """How many panels the caption names, when its labels form one run of two or more; else None.
    The panel splitter chooses its layout by this count."""
    ordered, _, problem = caption_panels(split_caption(caption))
    return len(ordered) if len(ordered) > 1 and not problem else None


def align(n_panels: int, split: CaptionSplit, mentions: set[str]) -> Alignment:
    whole = (None,)
    labels = split.labels()
    if n_panels <= 1:
        if len(labels) > 1:
            return Alignment("none", whole, whole, f"caption names {len(labels)} panels, image has 1")
        return Alignment("single", whole, whole)
    if not labels:
        return Alignment("none", whole, whole, f"{n_panels} panels but no labels in the caption")
    ordered, method, problem = caption_panels(split)
    if problem:
        return Alignment("none", whole, whole, problem)
    if len(ordered) != n_panels:
        return Alignment("none", whole, whole, f"caption names {len(ordered)} panels, image has {n_panels}")
    unknown = mentions - {label.lower() for label in ordered}
    if unknown and method == "label_order":
        return Alignment("none", whole, whole, f"mentions name panels {sorted(unknown)} not in the caption")
    return Alignment(method, tuple(ordered), tuple(split.subcaption(label) for label in ordered))


def _run_problem(ordered: list[str], roman: bool) -> str:
    keys = [order_key(label, roman) for label in ordered]
    if len(set(keys)) != len(keys):
        return f"labels repeat: {ordered}"
    if any(len(label) > 1 and not label.isdigit() and not roman for label in ordered):
        return ""  # A1/A2/B1: sub-numbered labels, order is enough
    steps = [b[0] - a[0] + b[1] - a[1] for a, b in zip(keys, keys[1:])]
    if any(step != 1 for step in steps):
        return f"labels are not one run: {ordered}"
    return ""
