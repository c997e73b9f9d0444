"""PDFs made in code with PyMuPDF for the pdf_figures tests (no checked-in files)."""

from __future__ import annotations

import io

import numpy as np
import pymupdf
from PIL import Image


def pattern_png(width: int, height: int, seed: int) -> bytes:
    """A distinct, non-blank picture (smooth gradients plus a few blocks)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * 255 // width), (y * 255 // height), np.full_like(x, 40 * seed % 255)], axis=-1).astype(np.uint8)
    for _ in range(4):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        pixels[y0 : y0 + height // 4, x0 : x0 + width // 4] = rng.integers(0, 255, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def text_pages(count: int) -> pymupdf.Document:
    doc = pymupdf.open()
    for number in range(count):
        doc.new_page().insert_text((72, 72), f"Page {number + 1} of body text.")
    return doc


BODY = "Body text of the article. " * 12

# Where the two-figure PDF puts its figures: page index and rect in points.
TWO_FIGURES = {
    "Figure 1": (0, pymupdf.Rect(72, 300, 372, 500)),
    "Figure 2": (1, pymupdf.Rect(100, 120, 500, 420)),
}


def two_figure_pdf() -> bytes:
    """Figure 1 on page 1 and Figure 2 on page 2, each an image with its caption below it."""
    doc = pymupdf.open()
    for seed, (label, (page_index, rect)) in enumerate(TWO_FIGURES.items(), start=1):
        while doc.page_count <= page_index:
            doc.new_page()
        page = doc[page_index]
        page.insert_textbox(pymupdf.Rect(72, 40, 540, 110), BODY, fontsize=9)
        page.insert_image(rect, stream=pattern_png(int(rect.width * 2), int(rect.height * 2), seed))
        caption = pymupdf.Rect(rect.x0, rect.y1 + 8, rect.x0 + 400, rect.y1 + 60)
        page.insert_textbox(caption, f"{label}. What figure {seed} shows, in a caption of two lines or so.", fontsize=9)
        page.insert_textbox(pymupdf.Rect(72, caption.y1 + 20, 540, caption.y1 + 120), BODY, fontsize=9)
    return doc.tobytes()


VECTOR_FIGURE = pymupdf.Rect(120, 200, 420, 400)


def vector_figure_pdf() -> bytes:
    """A chart drawn with vector paths (no embedded image), captioned "Fig. 3 | ..." below."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_rect(VECTOR_FIGURE, color=(0, 0, 0), width=1)
    for i in range(6):
        bar = pymupdf.Rect(140 + i * 45, 380 - 25 * (i + 1), 170 + i * 45, 380)
        page.draw_rect(bar, color=None, fill=(0.2, 0.3 + 0.1 * i, 0.6))
    page.insert_textbox(pymupdf.Rect(120, 410, 500, 460), "Fig. 3 | Bars drawn as vector paths.", fontsize=9)
    return doc.tobytes()


SCAN_PICTURE = pymupdf.Rect(150, 270, 450, 480)  # where the page scan shows the figure's picture


def scanned_page_pdf() -> bytes:
    """A historical-OCR style page: one full-page image, with its OCR text as invisible text."""
    source = pymupdf.open()
    page = source.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 540, 250), BODY * 2, fontsize=10)
    page.insert_image(SCAN_PICTURE, stream=pattern_png(300, 210, 5))
    caption_rect = pymupdf.Rect(72, 500, 540, 540)
    caption = "FIG. 4. A figure known only from the page scan, with a wide caption under it."
    page.insert_textbox(caption_rect, caption, fontsize=10)
    page.insert_textbox(pymupdf.Rect(72, 560, 540, 740), BODY * 2, fontsize=10)
    scan_png = page.get_pixmap(dpi=100).tobytes("png")

    doc = pymupdf.open()
    scanned = doc.new_page()
    scanned.insert_image(scanned.rect, stream=scan_png)
    # The OCR layer: the same words, not drawn (render mode 3), where the scan shows them.
    scanned.insert_textbox(pymupdf.Rect(72, 72, 540, 250), BODY * 2, fontsize=10, render_mode=3)
    scanned.insert_textbox(caption_rect, caption, fontsize=10, render_mode=3)
    scanned.insert_textbox(pymupdf.Rect(72, 560, 540, 740), BODY * 2, fontsize=10, render_mode=3)
    return doc.tobytes()


def fan_out_pdf(depth: int = 12, fan: int = 8) -> bytes:
    """A small PDF that is very slow to read: form XObjects that each draw the next one ``fan``
    times, ``depth`` levels deep (fan**depth drawing operations for one page; a classic hostile PDF)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 400), "Figure 1. A figure that costs too much to look at.")
    inner = doc.get_new_xref()
    doc.update_object(inner, "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] >>")
    doc.update_stream(inner, b"0 0 1 1 re f")
    for _ in range(depth):
        outer = doc.get_new_xref()
        doc.update_object(outer, f"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X {inner} 0 R >> >> >>")
        doc.update_stream(outer, b" ".join([b"q /X Do Q"] * fan))
        inner = outer
    kind, value = doc.xref_get_key(page.xref, "Resources")
    assert kind == "xref"
    doc.xref_set_key(int(value.split()[0]), "XObject", f"<< /Top {inner} 0 R >>")
    drawing = doc.get_new_xref()
    doc.update_object(drawing, "<< >>")
    doc.update_stream(drawing, b"q 100 0 0 100 100 100 cm /Top Do Q")
    kind, value = doc.xref_get_key(page.xref, "Contents")
    existing = value.strip("[]") if kind == "array" else value
    doc.xref_set_key(page.xref, "Contents", f"[{existing} {drawing} 0 R]")
    return doc.tobytes()
