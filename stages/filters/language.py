"""Caption language through langid's offline model (shipped inside the package; nothing downloaded).

The identifier is restricted to ``CANDIDATE_LANGUAGES`` (plus whatever the run keeps): languages
that PMC captions are actually written in. With all 97 of langid's languages, taxonomic and
anatomical Latin in English captions ("Salganea quinquedentata sp. n., male: holotype, dorsal
view") is called Latin, Slovene or Esperanto with probability 1.0; restricted, the worst English
caption of our real sample scores 0.99986 in another language, while real foreign captions of
four words or more score above 0.999999. See docs/filters.md for the measurements.
"""

from __future__ import annotations

from functools import lru_cache

from langid.langid import LanguageIdentifier, model

CANDIDATE_LANGUAGES = (
    "ar", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hu", "id",
    "it", "ja", "ko", "nl", "no", "pl", "pt", "ro", "ru", "sv", "th", "tr", "uk", "vi", "zh",
)  # fmt: skip


def known_languages() -> frozenset[str]:
    """Every ISO 639-1 code langid's model can name."""
    return frozenset(_full_identifier().nb_classes)


@lru_cache(maxsize=4096)
def detect_language(text: str, keep: tuple[str, ...] = ()) -> tuple[str, float]:
    """(ISO 639-1 code, probability) of ``text`` among the candidate languages and those in ``keep``;
    remembered per worker for recent texts (a figure's panels ask about its caption in turn)."""
    code, probability = _identifier(tuple(sorted(set(CANDIDATE_LANGUAGES) | set(keep)))).classify(text)
    return code, float(probability)


@lru_cache(maxsize=1)
def _full_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    # One model per process and language set (loading takes about a second).
    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier
