"""Every gold set is split once into a development part (to read) and a check part (only to score).

The part of an item is fixed by a hash of its key (a figure's name or id), so it never changes
with the order, the size or the version of the set, and no rule can be tuned on the check part by
accident: docs and eval outputs report both parts side by side.
"""

from __future__ import annotations

import hashlib

PARTS = ("development", "check")


def part_of(key: str) -> str:
    """About half the keys are development, half check."""
    return PARTS[hashlib.sha256(key.encode()).digest()[0] % 2]
