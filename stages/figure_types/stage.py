"""Stage ``figure_type``: a figure-type label from caption and mentions (placeholder: passes records through)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.records import CURATED
from stages.base import Row, Stage, StageSpec
from stages.registry import register


class FigureTypeSpec(StageSpec):
    pass


@register
class FigureType(Stage):
    name = "figure_type"
    spec_type = FigureTypeSpec
    output_schema = CURATED
    optional = True

    def process(self, row: Row) -> Iterable[Row]:
        yield row
