"""How sure a caption's split into subcaptions is, from what the split itself shows.

Each doubt is a sign, seen on the development parts of the real gold sets (``figcurate eval
subcaptions``), that the subcaptions of such captions match the annotators' less often: labels
written after their text, a label named without a marker of its own, one marker naming several
panels, labels inside a sentence or a list whose opening their items share, a label with no text
of its own, labels that are not one run. The confidence is the product of the doubts' factors;
the subcaptions stage keeps a figure whole below ``min_subcaption_confidence``.
"""

from __future__ import annotations

from stages.subcaptions.align import caption_panels
from stages.subcaptions.split import CaptionSplit

DOUBT_FACTORS = {
    "labels_after_text": 0.85,  # "Control cells (A) and mutant (B)": postfix style
    "label_without_marker": 0.8,  # "Panel A shows ...": found by its words, not a marker
    "marker_names_several": 0.9,  # "(A and B) Livers": one text for several panels
    "labels_inside_sentence": 0.9,  # "Staining of (A) liver; (B) lung": the sentence's head is shared
    "list_shares_opening": 0.9,  # "in rostral (A), dorsal (B) views"
    "label_without_text": 0.6,  # a label whose own text is empty
    "labels_not_one_run": 0.3,  # A, B, D: a label missed or misread
}


def doubts(split: CaptionSplit, run_problem: str = "") -> list[str]:
    """The doubts a split shows, in ``DOUBT_FACTORS`` order; ``run_problem`` as ``align.caption_panels`` gives it."""
    segments = split.segments
    seen = {
        "labels_after_text": split.style == "postfix",
        "label_without_marker": any(not s.marker for s in segments),
        "marker_names_several": any(len(s.labels) > 1 for s in segments),
        "labels_inside_sentence": any(s.head for s in segments),
        "list_shares_opening": any(s.list_head for s in segments),
        "label_without_text": any(not s.text.strip() for s in segments),
        "labels_not_one_run": bool(run_problem),
    }
    return [doubt for doubt in DOUBT_FACTORS if seen[doubt]]


def confidence(found: list[str]) -> float:
    value = 1.0
    for doubt in found:
        value *= DOUBT_FACTORS[doubt]
    return round(value, 3)


def caption_confidence(split: CaptionSplit) -> tuple[float, list[str]] | None:
    """(confidence, doubts) of a split that names two or more panels; None for one that does not."""
    if len(split.labels()) < 2:
        return None
    found = doubts(split, caption_panels(split)[2])
    return confidence(found), found
