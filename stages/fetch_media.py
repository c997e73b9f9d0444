"""Stage ``fetch_media``: the bytes of each figure's image file, checked against its md5."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.records import FIGURE_MEDIA
from stages.base import Row, Stage
from stages.fetch import FetchSpec, read_checked
from stages.registry import register


@register
class FetchMedia(Stage):
    name = "fetch_media"
    spec_type = FetchSpec
    output_schema = FIGURE_MEDIA

    def process(self, row: Row) -> Iterable[Row]:
        data = read_checked(
            self.context.store(),
            row["media_key"],
            row["media_md5"],
            verify=self.spec.verify_md5,
            max_bytes=self.context.max_object_bytes,
        )
        yield {**row, "media_bytes": data}
