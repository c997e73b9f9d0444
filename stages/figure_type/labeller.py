"""A figure-type label from caption words: lexicon hits on spaCy tokens, abbreviations expanded.

Scoring, per type ``t`` of the taxonomy:

    score(t) = sum of the weights of t's lexicon hits in ``text``
             + CONTEXT_WEIGHT * sum of the weights of t's hits in ``context``

The winner is the type with the highest score, ties going to the type that comes first in the
taxonomy. With ``s1`` the winner's score and ``s2`` the runner-up's (0 when no other type has
evidence):

    confidence = (1 - exp(-s1 / STRENGTH_SCALE)) * s1 / (s1 + s2)

The first factor is the strength of the evidence (one STRONG term in the caption gives 0.63, two
give 0.86, one STRONG term in the mentions 0.39); the second is the winner's share of the top two
(1 when uncontested, 0.5 on a tie). No evidence at all gives ``other`` with source ``none`` and
confidence 0. The source is ``caption`` when the winner has any evidence in ``text``, else
``mentions`` (evidence only in ``context``: the figure caption of a panel, or mention sentences).

Abbreviations: scispacy's detector finds definitions such as "optical coherence tomography (OCT)"
in any of the texts. Every other occurrence of the short form, in any text, then counts as its long
form's terms do (it is not matched on its own), so "OCT" alone after the definition is OCT
evidence, and "SEM" after "standard error of the mean (SEM)" is not electron microscopy. The
short form inside the definition counts nothing more: the long form beside it already counted.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from stages.figure_type.lexicon import LEXICON, NEUTRAL
from stages.figure_type.taxonomy import FIGURE_TYPES, OTHER
from stages.runtime.nlp import BoundedNlp

CONTEXT_WEIGHT = 0.5
STRENGTH_SCALE = 3.0
# Tokens skipped when matching, so "X-ray" = "X ray" and "Masson's trichrome" = "Masson trichrome".
SKIPPED_TOKENS = frozenset({"-", "\u2010", "\u2011", "\u2013", "\u2014", "'s", "\u2019s"})


@dataclass(frozen=True)
class FigureLabel:
    figure_type: str
    source: str  # "caption", "mentions" or "none"
    confidence: float
    abbreviations: list[tuple[str, str]] = field(default_factory=list)  # (short, long) defined in the text


def build_nlp() -> Any:
    """A spaCy pipeline for labelling: blank English tokenizer (splitting "±"), sentencizer, abbreviations."""
    import spacy
    from scispacy.abbreviation import AbbreviationDetector  # noqa: F401 - registers "abbreviation_detector"
    from spacy.util import compile_infix_regex

    nlp = spacy.blank("en")
    nlp.tokenizer.infix_finditer = compile_infix_regex([*nlp.Defaults.infixes, r"±"]).finditer
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("abbreviation_detector")
    return nlp


# the process's pipeline, built again when its vocabulary grows past its bound (stages/runtime/nlp.py)
make_nlp = BoundedNlp(build_nlp)


def token_keys(text: str) -> tuple[str, str]:
    """(exact, folded) matching keys of one token; both drop a trailing "+" and a plural "s"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # the micro sign and Greek mu alike
    if len(text) > 1 and text.endswith("+"):
        text = text.rstrip("+") or text
    exact = text[:-1] if len(text) > 2 and text[-1] == "s" and text[:-1].isupper() else text
    folded = text.lower()
    if len(folded) > 3 and folded[-1] == "s" and folded[-2] != "s":
        folded = folded[:-1]
    return exact, folded


class Key(NamedTuple):
    exact: bool  # match the token's exact key (the term token has upper case), else its folded key
    value: str


class Term(NamedTuple):
    keys: tuple[Key, ...]
    figure_type: str | None  # None: a neutral phrase
    weight: float
    text: str


class Hit(NamedTuple):
    figure_type: str
    weight: float


# One matchable token's (exact, folded) keys; (None, None) for a masked token, which matches nothing.
StreamToken = tuple[str | None, str | None]


def token_stream(texts: Sequence[str], masked: frozenset[int] = frozenset()) -> list[StreamToken]:
    """The keys of token texts in order; a ``masked`` position (an index into ``texts``) matches nothing."""
    stream = []
    for position, text in enumerate(texts):
        if text in SKIPPED_TOKENS:
            continue
        stream.append((None, None) if position in masked else token_keys(text))
    return stream


class TermIndex:
    """The lexicon compiled for one tokenizer: terms by their first key."""

    def __init__(self, nlp: Any):
        self._by_first: dict[Key, list[Term]] = {}
        seen: dict[tuple[Key, ...], str] = {}
        entries = [(t, w, term) for t, tiers in LEXICON.items() for w, terms in tiers.items() for term in terms]
        entries += [(None, 0.0, phrase) for phrase in NEUTRAL]
        for figure_type, weight, text in entries:
            keys = term_keys(nlp, text)
            if keys in seen:
                raise ValueError(f"lexicon term {text!r} matches the same tokens as {seen[keys]!r}")
            seen[keys] = text
            self._by_first.setdefault(keys[0], []).append(Term(keys, figure_type, weight, text))

    def hits(self, stream: Sequence[StreamToken]) -> list[Hit]:
        """Non-overlapping lexicon hits, scanning left to right and taking the longest term at each token."""
        found = []
        i = 0
        while i < len(stream):
            term = self._longest_at(stream, i)
            if term is None:
                i += 1
                continue
            if term.figure_type is not None:
                found.append(Hit(term.figure_type, term.weight))
            i += len(term.keys)
        return found

    def _longest_at(self, stream: Sequence[StreamToken], i: int) -> Term | None:
        exact, folded = stream[i]
        if exact is None:
            return None
        candidates = self._by_first.get(Key(True, exact), []) + self._by_first.get(Key(False, folded), [])
        best = None
        for term in candidates:
            if (best is None or len(term.keys) > len(best.keys)) and _matches(term.keys, stream, i):
                best = term
        return best


def term_keys(nlp: Any, text: str) -> tuple[Key, ...]:
    """A lexicon term as keys: exact for tokens written with upper case, folded for the others."""
    keys = []
    for token in nlp.make_doc(text):
        if token.text in SKIPPED_TOKENS:
            continue
        exact, folded = token_keys(token.text)
        keys.append(Key(True, exact) if any(c.isupper() for c in token.text) else Key(False, folded))
    return tuple(keys)


def _matches(keys: tuple[Key, ...], stream: Sequence[StreamToken], i: int) -> bool:
    if i + len(keys) > len(stream):
        return False
    for key, (exact, folded) in zip(keys, stream[i:i + len(keys)], strict=True):
        if (exact if key.exact else folded) != key.value:
            return False
    return True


_index: list[tuple[Any, TermIndex]] = []


def term_index(nlp: Any) -> TermIndex:
    """The lexicon compiled with ``nlp``'s tokenizer, once per pipeline (the latest only: a pipeline
    renewed for its vocabulary's size must not stay alive here)."""
    if not _index or _index[0][0] is not nlp:
        _index[:] = [(nlp, TermIndex(nlp))]
    return _index[0][1]


@lru_cache(maxsize=512)
def parse(nlp: Any, text: str) -> Any:
    """``text`` as a Doc; remembered, since a figure's panels are labelled with the same caption and
    mentions beside their own subcaption."""
    if "(" not in text:  # the abbreviation detector only reads parenthesised definitions
        return nlp.make_doc(text)
    with warnings.catch_warnings():
        # scispacy runs its (empty) global matcher on docs without definitions; spaCy warns each time.
        warnings.filterwarnings("ignore", message=r"\[W036\]")
        return nlp(text)


class Definition(NamedTuple):
    short: tuple[str, ...]  # the short form's token texts
    long: str
    hits: list[Hit]  # what one use of the short form counts for
    doc_index: int  # where it was defined, and the short form's token position there
    site: int


def find_definitions(docs: list[Any], index: TermIndex) -> dict[tuple[str, ...], Definition]:
    """Abbreviations defined in ``docs``, first definition of a short form winning."""
    definitions: dict[tuple[str, ...], Definition] = {}
    for doc_index, doc in enumerate(docs):
        for short in doc._.abbreviations:
            long = short._.long_form
            beside_long = long.end <= short.start <= long.end + 1 or short.end <= long.start <= short.end + 1
            key = tuple(token.text for token in short)
            if beside_long and key not in definitions:
                hits = index.hits(token_stream(_texts(doc)[long.start : long.end]))
                definitions[key] = Definition(key, long.text, hits, doc_index, short.start)
    return definitions


def doc_hits(doc: Any, doc_index: int, definitions: dict[tuple[str, ...], Definition], index: TermIndex) -> list[Hit]:
    """Lexicon hits of one doc, each use of a defined short form counting as its long form."""
    texts = _texts(doc) if definitions else ()
    masked: set[int] = set()
    found: list[Hit] = []
    for definition in definitions.values():
        size = len(definition.short)
        for start in range(len(texts) - size + 1):
            if tuple(texts[start:start + size]) != definition.short:
                continue
            masked.update(range(start, start + size))
            if (doc_index, start) != (definition.doc_index, definition.site):
                found.extend(definition.hits)
    return found + _stream_hits(index, doc, frozenset(masked))


@lru_cache(maxsize=512)
def _texts(doc: Any) -> tuple[str, ...]:
    """The doc's token texts, read from its array of string ids: spaCy builds no Token object for
    them (building those was half of labelling's time)."""
    strings = doc.vocab.strings
    return tuple(strings[orth] for orth in doc.to_array("ORTH").tolist())


@lru_cache(maxsize=512)
def _stream_hits(index: TermIndex, doc: Any, masked: frozenset[int]) -> list[Hit]:
    """The lexicon hits of a (remembered) doc's tokens outside ``masked``; callers never change the list."""
    return index.hits(token_stream(_texts(doc), masked))


def label_figure(text: str | None, context: str | Sequence[str] | None = "", *, caption: str | None = None, nlp: Any = None) -> FigureLabel:
    """Label one sample from its own text (a subcaption or the caption) and its context (see module doc).

    ``caption`` is the figure's caption when ``text`` is a panel's subcaption: it weighs as context,
    but a label it decides has source "caption", not "mentions".
    """
    nlp = nlp if nlp is not None else make_nlp()
    index = term_index(nlp)
    contexts = [context] if isinstance(context, str) else list(context or [])
    captions = [caption] if caption else []
    docs = [parse(nlp, text or "")] + [parse(nlp, c) for c in [*captions, *contexts] if c]
    definitions = find_definitions(docs, index)
    own = {d.short: d for d in definitions.values() if d.doc_index == 0}
    abbreviations = [(" ".join(short), d.long) for short, d in own.items()]

    caption_scores = dict.fromkeys(FIGURE_TYPES, 0.0)
    scores = dict.fromkeys(FIGURE_TYPES, 0.0)
    for doc_index, doc in enumerate(docs):
        tier = 1.0 if doc_index == 0 else CONTEXT_WEIGHT
        for hit in doc_hits(doc, doc_index, definitions, index):
            scores[hit.figure_type] += tier * hit.weight
            if doc_index <= len(captions):
                caption_scores[hit.figure_type] += hit.weight

    ranked = sorted(FIGURE_TYPES, key=lambda name: -scores[name])  # stable: ties keep taxonomy order
    best, runner_up = scores[ranked[0]], scores[ranked[1]]
    if best <= 0:
        return FigureLabel(OTHER, "none", 0.0, abbreviations)
    strength = 1.0 - math.exp(-best / STRENGTH_SCALE)
    confidence = round(strength * best / (best + runner_up), 4)
    source = "caption" if caption_scores[ranked[0]] > 0 else "mentions"
    return FigureLabel(ranked[0], source, confidence, abbreviations)
