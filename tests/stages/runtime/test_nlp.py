"""spaCy pipelines are built again when their vocabulary passes its bound."""

import spacy

from stages.figure_type.labeller import label_figure, make_nlp, term_index
from stages.runtime.nlp import BoundedNlp
from stages.subcaptions.markers import tokenizer, tokens_of


def unique_words(start, count):
    return " ".join(f"w{number}x" for number in range(start, start + count))


def test_a_pipeline_is_built_again_past_its_vocabulary_bound_and_its_docs_stay_readable():
    bounded = BoundedNlp(lambda: spacy.blank("en"), max_lexemes=0)
    first = bounded()
    bounded.max_lexemes = len(first.vocab) + 300
    doc = first(unique_words(0, 200))
    assert bounded() is first and bounded.renewals == 0  # under the bound: the same pipeline
    first(unique_words(200, 200))
    second = bounded()
    assert second is not first and bounded.renewals == 1 and len(second.vocab) < len(first.vocab)
    assert doc[5].text == "w5x"  # a doc of the old pipeline keeps its own vocabulary


def test_the_marker_tokenizer_stays_within_its_bound(monkeypatch):
    # a bound above a fresh pipeline's own vocabulary (earlier tests may have grown the current one)
    monkeypatch.setattr(tokenizer, "max_lexemes", len(tokenizer.build().vocab) + 1_000)
    before = tokenizer.renewals
    for start in range(0, 5_000, 100):
        assert [token.text for token in tokens_of(unique_words(start, 100))][:1] == [f"w{start}x"]
        assert len(tokenizer().vocab) <= tokenizer.max_lexemes + 100
    assert tokenizer.renewals - before >= 4


def test_labelling_follows_a_renewed_pipeline(monkeypatch):
    old = make_nlp()
    index = term_index(old)
    monkeypatch.setattr(make_nlp, "max_lexemes", len(old.vocab) - 1)
    assert label_figure("Axial CT of the chest.").figure_type == label_figure("Axial CT of the chest.", nlp=old).figure_type
    renewed = make_nlp()
    assert renewed is not old and term_index(renewed) is not index
