"""spaCy pipelines whose vocabulary stays bounded in a long-running worker.

spaCy keeps a lexeme and a string for every distinct token it has seen, for the life of the
pipeline. Real captions bring new ones all the time (numbers, p-values, gene and sample names: 16 a
caption over the first 420 gold captions), so a worker's memory grew with the run: 100 MB per
220,000 new tokens, measured with the marker tokenizer. ``BoundedNlp`` builds a fresh pipeline
once the vocabulary passes ``max_lexemes`` (a blank English pipeline builds in about 0.1 s). A Doc
made by an earlier pipeline stays valid while something holds it (it keeps its own vocabulary);
the memory goes with the last such Doc, so callers keep none for long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_LEXEMES = 200_000  # about 90 MB of vocabulary and tokenizer cache


class BoundedNlp:
    """``build()``'s pipeline, built again whenever its vocabulary holds more than ``max_lexemes``."""

    def __init__(self, build: Callable[[], Any], max_lexemes: int = MAX_LEXEMES):
        self.build, self.max_lexemes = build, max_lexemes
        self.renewals = 0
        self._nlp: Any = None

    def __call__(self) -> Any:
        if self._nlp is None:
            self._nlp = self.build()
        elif len(self._nlp.vocab) > self.max_lexemes:
            self._nlp = self.build()
            self.renewals += 1
        return self._nlp
