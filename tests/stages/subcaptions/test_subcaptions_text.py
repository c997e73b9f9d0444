"""Clause boundaries read backwards from a position, as the marker search asks them at every token."""

import random
import re

import pytest

from stages.subcaptions.markers import tokenizer, tokens_of
from stages.subcaptions.text import ABBREVIATIONS, after_list_comma, at_clause_start, ends_with_abbreviation, join_sentences, split_sentences

# the definitions on the whole prefix, as the marker search once spelled them
LIST_COMMA = re.compile(r"(?:,|[,;]\s+(?:and|or))\s*$")


def clause_start_on_prefix(text, index):
    before = text[:index].rstrip()
    if not before or before[-1] in ";:":
        return True
    words = before.split()
    return before[-1] in ".!?" and not (words and words[-1].lstrip("([").lower() in ABBREVIATIONS)


@pytest.mark.parametrize(
    "text, index, expected",
    [
        ("Title. A", 7, True),
        ("as shown in Fig. A", 17, False),
        ("Smith et al. B", 13, False),
        ("left; B", 6, True),
        ("the survival. C", 14, True),  # a whole word: survival. is no "al."
        ("mice and B", 9, False),
        ("  B", 2, True),
    ],
)
def test_clause_starts(text, index, expected):
    assert at_clause_start(text, index) is expected


@pytest.mark.parametrize(
    "prefix, expected",
    [("A, anterior, ", True), ("b side views, and ", True), ("dorsal; or  ", True), ("cells and ", False), ("band ", False), ("x,and ", False)],
)
def test_list_item_starts(prefix, expected):
    assert after_list_comma(prefix + "d", len(prefix)) is expected


def test_backward_reading_agrees_with_the_prefix_definitions():
    pieces = ["a", "and", "or", " ", "  ", ",", ";", ".", "Fig.", "al.", "(", "\n", "\u00a0", "e.g.", ":", "!", "x"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        index = rng.randint(0, len(text))
        assert at_clause_start(text, index) == clause_start_on_prefix(text, index), (text, index)
        assert after_list_comma(text, index) == bool(LIST_COMMA.search(text[:index])), (text, index)
    assert ends_with_abbreviation("see Fig.") and ends_with_abbreviation("(e.g.") and not ends_with_abbreviation("")
    assert ends_with_abbreviation("see Fig. 2", end=8) and not ends_with_abbreviation("see Fig. 2")


def test_tokens_are_spacys_texts_and_offsets():
    caption = "Expression of p63 (A, B) and αENaC in C57BL/6 mice. C) Quantified; see Fig. 2D–F."
    assert [(token.text, token.idx) for token in tokens_of(caption)] == [(token.text, token.idx) for token in tokenizer()(caption)]


def test_a_count_or_test_in_lower_case_opens_a_sentence():
    assert split_sentences("Glucose tolerance test. n = 8 per group. p < 0.05 by t-test.") == ["Glucose tolerance test.", "n = 8 per group.", "p < 0.05 by t-test."]
    assert split_sentences("Cells of the islets. bo, basioccipital; bs, basisphenoid.") == ["Cells of the islets.", "bo, basioccipital; bs, basisphenoid."]
    assert split_sentences("Cells were grown. and then fixed.") == ["Cells were grown. and then fixed."]
    assert join_sentences("Body weight", "n = 8 per group.") == "Body weight. n = 8 per group."
