"""find_figures: a figure's image taken from the article's PDF, matched to the XML figure by label."""

from __future__ import annotations

from dataclasses import dataclass

from .limits import PdfError, PdfLimits
from .sandbox import run_worker

# A PDF starts with this marker within its first 1024 bytes (readers tolerate leading junk) and
# ends with the end marker within its last 1024 bytes. MuPDF silently repairs a truncated file and
# renders what is left; a half-drawn figure is worse than a drop, so a missing end marker is one.
_PDF_MARKER = b"%PDF-"
_END_MARKER = b"%%EOF"


@dataclass(frozen=True)
class FigureCrop:
    png: bytes
    page: int  # 0-based page index
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, origin top-left
    width: int  # pixels of the PNG
    height: int
    method: str  # embedded_image(s), vector_drawing, images_and_drawings, page_scan_above_caption
    caption: str  # the caption line the label was found on


def find_figures(pdf_bytes: bytes, labels: list[str | None], limits: PdfLimits | None = None) -> dict[str, FigureCrop]:
    """The figures of ``labels`` found in the PDF, keyed by the label as given.

    A label that is not found (or is None: nothing on a page ties an unlabelled figure to its XML
    figure) is absent from the result; the caller records ``pdf_figure_not_found`` for it. A PDF
    that cannot be read within ``limits`` raises PdfError with its drop reason.
    """
    limits = limits or PdfLimits()
    if len(pdf_bytes) > limits.max_bytes:
        raise PdfError("pdf_too_large", f"{len(pdf_bytes)} bytes, more than max_bytes={limits.max_bytes}")
    if _PDF_MARKER not in pdf_bytes[:1024]:
        raise PdfError("pdf_unreadable", "no %PDF- marker in the first 1024 bytes")
    if _END_MARKER not in pdf_bytes[-1024:]:
        raise PdfError("pdf_unreadable", "truncated: no %%EOF marker in the last 1024 bytes")
    wanted = list(dict.fromkeys(label for label in labels if label is not None and label.strip()))
    if not wanted:
        return {}
    figures, pngs = run_worker(pdf_bytes, wanted, limits)
    crops = {}
    for figure, png in zip(figures, pngs, strict=True):
        if figure["label"] in wanted:
            crops[figure["label"]] = FigureCrop(
                png=png,
                page=int(figure["page"]),
                bbox=tuple(float(v) for v in figure["bbox"]),
                width=int(figure["width"]),
                height=int(figure["height"]),
                method=str(figure["method"]),
                caption=str(figure["caption"]),
            )
    return crops
