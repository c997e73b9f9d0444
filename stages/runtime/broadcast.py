"""One object for every worker of a run: put once by the driver, built once per worker process.

Global stages compute something on the driver (dedup decisions, an evaluation-set index) that a
per-batch map needs on every worker. ``share`` puts it into Ray's object store; ``shared`` fetches
it in a worker the first time and keeps what ``build`` made of it for the following batches.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import ray

T = TypeVar("T")
_BUILT: OrderedDict[str, Any] = OrderedDict()
_KEEP = 4


def share(value: Any) -> list:
    """A handle for ``fn_kwargs``: the reference wrapped in a list, so Ray passes it instead of resolving it per task."""
    return [ray.put(value)]


def shared(handle: list, build: Callable[[Any], T]) -> T:
    (ref,) = handle
    token = ref.hex()
    if token not in _BUILT:
        _BUILT[token] = build(ray.get(ref))
        while len(_BUILT) > _KEEP:
            _BUILT.popitem(last=False)
    return _BUILT[token]
