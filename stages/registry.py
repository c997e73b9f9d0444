"""Stages by name, filled at import time so that Ray workers see the same table as the driver."""

from __future__ import annotations

from stages.base import Stage

STAGES: dict[str, type[Stage]] = {}


def register(stage: type[Stage]) -> type[Stage]:
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name!r} registered twice")
    STAGES[stage.name] = stage
    return stage


def load_all() -> dict[str, type[Stage]]:
    """Import every stage module (each registers itself) and return the registry."""
    from stages import chaos, fetch, fetch_media, images, parse_jats  # noqa: F401
    from stages.clip import preprocess, score  # noqa: F401
    from stages.decontaminate import stage as _decontaminate  # noqa: F401
    from stages.dedup import stage as _dedup  # noqa: F401
    from stages.figure_types import stage as _figure_types  # noqa: F401
    from stages.filters import stage as _filters  # noqa: F401
    from stages.llm import stage as _llm  # noqa: F401
    from stages.subcaptions import stage as _subcaptions  # noqa: F401
    from stages.subfigures import stage as _subfigures  # noqa: F401

    return STAGES
