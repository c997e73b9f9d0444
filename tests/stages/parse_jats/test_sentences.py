import pytest
import spacy

from stages.parse_jats.sentences import split_sentences

CASES = [
    (
        "(A) Cells were grown for 3 d. (B) Mice were treated, as in Fig. 2B. C. Quantification (n = 3).",
        ["(A) Cells were grown for 3 d.", "(B) Mice were treated, as in Fig. 2B.", "C. Quantification (n = 3)."],
    ),
    (
        "As shown by Smith et al. (2019), the effect e.g. in Fig. 1 was large. Data are mean \u00b1 s.e.m. We then asked.",
        ["As shown by Smith et al. (2019), the effect e.g. in Fig. 1 was large.", "Data are mean \u00b1 s.e.m.", "We then asked."],
    ),
    ("A. Western blot. B. Quantification of A. Scale bar, 50 \u00b5m.", ["A. Western blot.", "B. Quantification of A.", "Scale bar, 50 \u00b5m."]),
    ("Growth (see Figs. 3A-C and i.e. the controls). ii. Survival.", ["Growth (see Figs. 3A-C and i.e. the controls).", "ii. Survival."]),
    ("No full stop at the end", ["No full stop at the end"]),
    ("", []),
]


@pytest.mark.parametrize("text, sentences", CASES)
def test_sentences_keep_labels_and_abbreviations(text, sentences):
    assert split_sentences(text) == sentences


def test_the_stock_sentencizer_gets_the_first_case_wrong():
    """Why this module exists: spaCy's rule-based sentencizer ends a sentence after "Fig." and glues labels."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    text, ours = CASES[0]
    assert [s.text for s in nlp(text).sents] != ours
