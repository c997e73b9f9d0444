"""Stage ``filters``: quality filters with a drop reason each (placeholder: passes records through)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.records import CURATED
from stages.base import Row, Stage, StageSpec
from stages.registry import register


class FiltersSpec(StageSpec):
    pass


@register
class Filters(Stage):
    name = "filters"
    spec_type = FiltersSpec
    output_schema = CURATED
    optional = True

    def process(self, row: Row) -> Iterable[Row]:
        yield row
