"""Sample keys: the identity of a sample as WebDataset and every index see it.

WebDataset splits a member name at the first dot of its basename, so keys hold only
``[A-Za-z0-9_-]``; ``PMC10802347v1-f003`` for a whole figure, ``...-f003-p02`` for a panel.
"""

import hashlib
import re

_KEY_RE = re.compile(r"^PMC\d+v\d+(-f\d{3,})?(-p\d{2,})?$")


def normalise_pmcid(value: str | int) -> str:
    """``'PMC123'``, ``'pmc123'``, ``'123'`` and ``123`` all become ``'PMC123'``."""
    text = str(value).strip()
    digits = text[3:] if text[:3].upper() == "PMC" else text
    if not digits.isdigit():
        raise ValueError(f"not a PMCID: {value!r}")
    return f"PMC{int(digits)}"


def article_key(pmcid: str, version: int) -> str:
    return f"{normalise_pmcid(pmcid)}v{int(version)}"


def sample_key(pmcid: str, version: int, figure_index: int | None = None, panel_index: int | None = None) -> str:
    key = article_key(pmcid, version)
    if figure_index is not None:
        key += f"-f{int(figure_index):03d}"
        if panel_index is not None:
            key += f"-p{int(panel_index):02d}"
    return key


def is_valid_key(key: str) -> bool:
    return bool(_KEY_RE.match(key)) and len(key) < 80


def split_of(pmcid: str, fractions: dict[str, float]) -> str:
    """The split an article belongs to, from a hash of its PMCID alone (all versions and figures together).

    ``fractions`` maps split names to shares summing to 1, in a fixed order; the same article
    always lands in the same split for the same fractions, whatever else is in the run.
    """
    digest = hashlib.sha256(normalise_pmcid(pmcid).encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    for name, share in fractions.items():
        cumulative += share
        if position < cumulative:
            return name
    return next(reversed(fractions))
