"""License codes as PMC spells them, normalised to one spelling each (``CC BY-NC``, ``CC0``, ...)."""

import re

KNOWN = ("CC0", "CC BY", "CC BY-SA", "CC BY-ND", "CC BY-NC", "CC BY-NC-SA", "CC BY-NC-ND", "TDM", "PD")


def normalise_license(raw: str | None) -> str:
    """Map a raw code (``cc-by``, ``CC-BY-NC``, ``CC BY 4.0``) to one of ``KNOWN``, else ``other``/``unknown``."""
    if raw is None or not raw.strip():
        return "unknown"
    text = re.sub(r"[\s_]+", " ", raw.strip().upper())
    if text.replace(" ", "").replace("-", "") in ("CC0", "CCZERO", "CC0.1.0", "CC01.0"):
        return "CC0"
    text = re.sub(r"\s+\d+(\.\d+)?$", "", text)  # trailing version number, as in "CC BY 4.0"
    match = re.fullmatch(r"CC[\s-]*BY((?:[\s-]*(?:NC|SA|ND))*)", text)
    if match:
        parts = re.findall(r"NC|SA|ND", match.group(1))
        return "CC BY" + "".join(f"-{part}" for part in parts)
    if text in ("TDM", "PD", "PUBLIC DOMAIN"):
        return "PD" if text.startswith("P") else "TDM"
    return "other"
