"""Stage ``fetch_media``: the bytes of each figure's image file, checked against its md5.

When the file is missing and the article has a PDF, the figure is taken from the PDF instead:
found by its caption label on the pages and cropped (``stages/pdf_figures``, in a separate
process with a time and memory bound). ``media_source`` says which it was; a PDF that cannot be
read, or a label that is not on its pages, ends as that drop reason instead of ``fetch_not_found``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from pydantic import Field

from schemas.records import FIGURE_MEDIA
from stages.fetch import FetchSpec, read_checked
from stages.fetch_media.pdf_figures import PdfError, PdfLimits, find_figures
from stages.runtime.base import Drop, Row, Stage

_PDFS_KEPT = 4  # an article's figures arrive together: keep its PDF for the next missing one


class FetchMediaSpec(FetchSpec):
    pdf_fallback: bool = Field(True, description="take a figure whose media file is missing from the article's PDF, by its label")
    pdf: PdfLimits = Field(PdfLimits(), description="bounds of the PDF work (time, memory, pages, bytes) and the crop's resolution")


class FetchMedia(Stage):
    name = "fetch_media"
    spec_type = FetchMediaSpec
    output_schema = FIGURE_MEDIA

    def __init__(self, spec: FetchMediaSpec, context):
        super().__init__(spec, context)
        self._pdfs: OrderedDict[str, bytes] = OrderedDict()

    def process(self, row: Row) -> Iterable[Row]:
        try:
            data = self._read(row["media_key"], row["media_md5"])
        except Drop as drop:
            if drop.reason != "fetch_not_found" or not (self.spec.pdf_fallback and row.get("pdf_key")):
                raise
            yield {**row, "media_bytes": self._from_pdf(row, drop.detail), "media_source": "pdf"}
            return
        yield {**row, "media_bytes": data, "media_source": "file"}

    def _read(self, key: str, md5: str | None, max_bytes: int | None = None) -> bytes:
        limit = min(self.context.max_object_bytes, max_bytes or self.context.max_object_bytes)
        return read_checked(self.context.store(), key, md5, verify=self.spec.verify_md5, max_bytes=limit)

    def _from_pdf(self, row: Row, missing: str) -> bytes:
        label = row.get("label")
        if not label:
            raise Drop("fetch_not_found", f"{missing}; the PDF cannot stand in: the figure has no label to find it by")
        pdf = self._pdf(row["pdf_key"], row.get("pdf_md5"))
        try:
            found = find_figures(pdf, [label], self.spec.pdf)
        except PdfError as error:
            raise Drop(error.reason, f"{row['pdf_key']}: {error.detail}") from None
        if label not in found:
            raise Drop("pdf_figure_not_found", f"{missing}; no caption starting {label!r} in {row['pdf_key']}")
        return found[label].png

    def _pdf(self, key: str, md5: str | None) -> bytes:
        if key not in self._pdfs:
            self._pdfs[key] = self._read(key, md5, self.spec.pdf.max_bytes)
            while len(self._pdfs) > _PDFS_KEPT:
                self._pdfs.popitem(last=False)
        return self._pdfs[key]
