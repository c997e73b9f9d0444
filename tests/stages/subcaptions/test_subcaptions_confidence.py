"""How sure a caption's split is: the doubts it shows and their product."""

import pytest

from stages.subcaptions.align import caption_panels
from stages.subcaptions.confidence import DOUBT_FACTORS, confidence, doubts
from stages.subcaptions.split import split_caption


def doubts_of(caption: str) -> list[str]:
    split = split_caption(caption)
    return doubts(split, caption_panels(split)[2])


def test_a_caption_with_a_marker_before_each_label_is_sure():
    assert doubts_of("Livers. (A) Control. (B) Mutant.") == []
    assert confidence([]) == 1.0


@pytest.mark.parametrize(
    ("caption", "doubt"),
    [
        ("Panel A shows the liver. Panel B shows the lung.", "label_without_marker"),
        ("(A and B) Livers of mice. (C) Lung.", "marker_names_several"),
        ("Control cells (A) and mutant cells (B) after a week.", "labels_after_text"),
        ("Sections in rostral (A), dorsal (B) and lateral (C) views.", "list_shares_opening"),
        ("(A) Liver. (B) Lung. (D) Gut.", "labels_not_one_run"),
    ],
)
def test_each_doubt_is_seen_where_the_split_shows_it(caption, doubt):
    found = doubts_of(caption)
    assert doubt in found
    assert confidence(found) < 1.0


def test_the_confidence_is_the_product_of_the_doubts_factors():
    found = ["labels_after_text", "label_without_marker"]
    assert confidence(found) == pytest.approx(DOUBT_FACTORS["labels_after_text"] * DOUBT_FACTORS["label_without_marker"], abs=1e-3)
    assert confidence(["labels_not_one_run"]) < 0.5  # below the default threshold on its own
