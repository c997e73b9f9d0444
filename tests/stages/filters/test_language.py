"""Caption language through langid's offline model."""

import pytest

from stages.filters.language import (
    CANDIDATE_LANGUAGES,
    detect_language,
    known_languages,
)

DEFAULT_MIN_SCORE = 0.99999

CAPTIONS = {
    "en": "Histological sections of the liver from control and mutant mice after staining with hematoxylin and eosin.",
    "fr": "Coupes histologiques du foie de souris témoins et mutantes après coloration à l'hématoxyline et à l'éosine.",
    "de": "Histologische Schnitte der Leber von Kontroll- und Mutantenmäusen nach Färbung mit Hämatoxylin und Eosin.",
    "es": "Cortes histológicos del hígado de ratones control y mutantes tras la tinción con hematoxilina y eosina.",
    "zh": "对照组和突变小鼠肝脏经苏木精-伊红染色后的组织切片。",
}


@pytest.mark.parametrize("language", sorted(CAPTIONS))
def test_each_language_is_named_with_confidence(language):
    code, score = detect_language(CAPTIONS[language])
    assert code == language
    assert score >= DEFAULT_MIN_SCORE


def test_short_technical_english_is_not_confidently_foreign():
    # Taxonomic Latin in an English caption: the full 97-language model calls a longer one Latin at 1.0.
    for text in ("IL-17RC expression in miscellaneous tissues.",
                 "Leucotrichia interrupta Flint, 1991 (USNM104528). Male genitalia: lateral C segments IX–X."):
        code, score = detect_language(text)
        assert code == "en" or score < DEFAULT_MIN_SCORE, (text, code, score)


def test_latin_is_not_a_candidate_unless_kept():
    text = "Salganea quinquedentata sp. n., male: holotype, dorsal view, ventral view, paratype."
    assert "la" not in CANDIDATE_LANGUAGES
    assert detect_language(text)[0] != "la"
    assert detect_language("Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae.", keep=("la",))[0] == "la"


def test_score_is_a_probability():
    _, score = detect_language("Figure 2. Répartition des cas.")
    assert isinstance(score, float) and 0.0 <= score <= 1.0


def test_known_languages_cover_the_candidates():
    assert set(CANDIDATE_LANGUAGES) <= known_languages()
    assert "xx" not in known_languages()


def _forget_the_model():
    from stages.filters import language

    for cached in (language._model_parts, language._identifier, language._full_identifier, language.detect_language):
        cached.cache_clear()


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FIGCURATE_CACHE_DIR", str(tmp_path / "cache"))
    _forget_the_model()
    yield tmp_path / "cache"
    _forget_the_model()


def test_the_decoded_model_is_kept_and_read_back_to_the_same_answers(cache_folder):
    from langid.langid import LanguageIdentifier, model

    texts = [*CAPTIONS.values(), "Salganea quinquedentata sp. n., male: holotype, dorsal view", "TNF-α ELISA (pg/ml)"]
    reference = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    every_language = frozenset(reference.nb_classes)
    reference.set_languages(list(CANDIDATE_LANGUAGES))
    expected = [reference.classify(text) for text in texts]

    first = [detect_language(text) for text in texts]  # decodes langid's model and keeps it
    assert [path.suffix for path in cache_folder.iterdir()] == [".npz"]
    _forget_the_model()
    again = [detect_language(text) for text in texts]  # from the kept arrays
    assert [(code, float(p)) for code, p in expected] == first == again
    assert known_languages() == every_language  # the full model too


def test_an_unreadable_kept_model_is_decoded_again(cache_folder):
    detect_language("The cells were stained with hematoxylin and eosin.")
    (kept,) = cache_folder.iterdir()
    kept.write_bytes(b"not an npz")
    _forget_the_model()
    assert detect_language("Les cellules ont été colorées à l'hématoxyline et à l'éosine.")[0] == "fr"
    assert kept.stat().st_size > 1_000_000  # written again, whole
