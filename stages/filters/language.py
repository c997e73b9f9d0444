"""Caption language through langid's offline model (shipped inside the package; nothing downloaded).

The identifier is restricted to ``CANDIDATE_LANGUAGES`` (plus whatever the run keeps): languages
that PMC captions are actually written in. With all 97 of langid's languages, taxonomic and
anatomical Latin in English captions ("Salganea quinquedentata sp. n., male: holotype, dorsal
view") is called Latin, Slovene or Esperanto with probability 1.0; restricted, the worst English
caption of our real sample scores 0.99986 in another language, while real foreign captions of
four words or more score above 0.999999. See docs/filters.md for the measurements.
"""

from __future__ import annotations

import array
import hashlib
import json
import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from langid.langid import LanguageIdentifier, model

log = logging.getLogger(__name__)

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
    return _new_identifier()


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    identifier = _new_identifier()
    identifier.set_languages(list(languages))
    return identifier


def _new_identifier() -> LanguageIdentifier:
    ptc, pc, classes, nextmove, output = _model_parts()
    return LanguageIdentifier(ptc, pc, ptc.shape[0], list(classes), nextmove, output, norm_probs=True)


def cache_folder() -> Path:
    """Where derived files that are slow to rebuild are kept: ``FIGCURATE_CACHE_DIR``, else the user's cache."""
    if folder := os.environ.get("FIGCURATE_CACHE_DIR"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "figcurate"


@lru_cache(maxsize=1)
def _model_parts() -> tuple[np.ndarray, np.ndarray, list[str], array.array, dict]:
    """langid's model, decoded once per process. The model ships as a bz2-compressed pickle in base64
    (1.2-1.7 s to decode in every worker); its decoded arrays are kept in the cache folder, keyed by
    the model's digest, and read back in about 0.1 s. No pickle is read from the cache: arrays and JSON."""
    cached = cache_folder() / f"langid-{hashlib.sha256(model).hexdigest()[:16]}.npz"
    try:
        with np.load(cached, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            nextmove = array.array(meta["nextmove_type"], stored["nextmove"].tobytes())
            output = {int(state): tuple(features) for state, features in meta["output"].items()}
            return stored["ptc"], stored["pc"], meta["classes"], nextmove, output
    except (OSError, KeyError, ValueError):
        pass  # not there yet, or unreadable: decode and (try to) keep it
    decoded = LanguageIdentifier.from_modelstring(model)
    parts = decoded.nb_ptc, decoded.nb_pc, list(decoded.nb_classes), decoded.tk_nextmove, decoded.tk_output
    _keep(cached, *parts)
    return parts


def _keep(path: Path, ptc: np.ndarray, pc: np.ndarray, classes: list[str], nextmove: array.array, output: dict) -> None:
    meta = {"classes": classes, "nextmove_type": nextmove.typecode, "output": {str(state): list(features) for state, features in output.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial.npz")
        np.savez(partial, ptc=ptc, pc=pc, nextmove=np.frombuffer(nextmove.tobytes(), np.uint8), meta=np.array(json.dumps(meta)))
        os.replace(partial, path)  # whole or absent, whichever worker writes it
    except OSError as error:
        log.debug("langid's decoded model not kept in %s: %s", path.parent, error)
