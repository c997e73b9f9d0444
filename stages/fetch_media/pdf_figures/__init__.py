"""Figures taken from the article's PDF when the media file is missing, or the article is a scan.

``find_figures(pdf_bytes, labels, limits)`` finds each label's caption on the pages, takes the
figure next to it and renders that region to PNG. All PyMuPDF work runs in a child process bounded
in time, memory and pages (``PdfLimits``); failures raise ``PdfError`` with a drop reason.
"""

from .api import FigureCrop, find_figures
from .limits import PdfError, PdfLimits

__all__ = ["FigureCrop", "PdfError", "PdfLimits", "find_figures"]
