"""Where a labelled figure sits on the PDF's pages, and its rendering. Runs only inside the PDF worker.

For each wanted label, the first line of every text block is compared with the label's caption
pattern. Near a matching caption the figure is the graphics nearest above it (below, where no
graphics are above: some journals caption on top): embedded images and clusters of vector
drawings that overlap the caption's columns, grown by the graphics that touch them. A scanned page
(one image covering most of the page, with an OCR text layer) has no separate graphics; there the
figure is the band between the caption and the body text above it.
"""

from __future__ import annotations

from typing import NamedTuple

import pymupdf

from .labels import LabelPattern, match_caption

SCAN_AREA_SHARE = 0.7  # an image covering this share of the page makes it a page scan
MIN_GRAPHIC_SIDE = 12.0  # points; thinner drawings are rules and lines, not figures
MIN_FIGURE_SIDE = 24.0  # points; a smaller region is not a figure
MAX_CAPTION_GAP = 72.0  # points between a figure's edge and its caption
TOUCH_MARGIN = 8.0  # points; graphics this close to the figure belong to it (panels, legends)
MIN_COLUMN_OVERLAP = 0.3  # share of the narrower of figure and caption that they must share in x


class Graphic(NamedTuple):
    rect: pymupdf.Rect
    kind: str  # "image" or "drawing"


class Candidate(NamedTuple):
    page: int
    rect: pymupdf.Rect
    method: str
    caption: str
    punctuated: bool


def _x_overlap(a: pymupdf.Rect, b: pymupdf.Rect) -> float:
    shared = min(a.x1, b.x1) - max(a.x0, b.x0)
    return max(0.0, shared) / max(1e-6, min(a.width, b.width))


def page_graphics(page: pymupdf.Page) -> tuple[list[Graphic], pymupdf.Rect | None]:
    """The page's figure-sized images and drawing clusters, and the page scan's rect if it is one."""
    page_rect = page.rect
    graphics: list[Graphic] = []
    scan: pymupdf.Rect | None = None
    for info in page.get_image_info(xrefs=True):
        rect = pymupdf.Rect(info["bbox"]) & page_rect
        if rect.is_empty or min(rect.width, rect.height) < MIN_GRAPHIC_SIDE:
            continue
        if rect.get_area() >= SCAN_AREA_SHARE * page_rect.get_area():
            scan = rect if scan is None else scan | rect
            continue
        graphics.append(Graphic(rect, "image"))
    for rect in page.cluster_drawings():
        rect = pymupdf.Rect(rect) & page_rect
        if rect.is_empty or min(rect.width, rect.height) < MIN_GRAPHIC_SIDE:
            continue
        if rect.get_area() >= SCAN_AREA_SHARE * page_rect.get_area():
            continue  # a page frame or background, not a figure
        graphics.append(Graphic(rect, "drawing"))
    return graphics, scan


def _method(members: list[Graphic]) -> str:
    kinds = {graphic.kind for graphic in members}
    if kinds == {"image"}:
        return "embedded_image" if len(members) == 1 else "embedded_images"
    return "vector_drawing" if kinds == {"drawing"} else "images_and_drawings"


def figure_by_graphics(caption: pymupdf.Rect, graphics: list[Graphic]) -> tuple[pymupdf.Rect, str] | None:
    """The region of the graphics nearest above the caption (or below it when none are above)."""
    def gap_above(graphic: Graphic) -> float:
        return caption.y0 - graphic.rect.y1

    def gap_below(graphic: Graphic) -> float:
        return graphic.rect.y0 - caption.y1

    for gap in (gap_above, gap_below):
        side = [g for g in graphics if gap(g) >= -TOUCH_MARGIN / 2]
        near = [g for g in side if gap(g) <= MAX_CAPTION_GAP and _x_overlap(g.rect, caption) >= MIN_COLUMN_OVERLAP]
        if not near:
            continue
        members = [min(near, key=gap)]
        region = pymupdf.Rect(members[0].rect)
        grown = True
        while grown:
            grown = False
            reach = pymupdf.Rect(region.x0 - TOUCH_MARGIN, region.y0 - TOUCH_MARGIN, region.x1 + TOUCH_MARGIN, region.y1 + TOUCH_MARGIN)
            for graphic in side:
                if graphic not in members and graphic.rect.intersects(reach):
                    members.append(graphic)
                    region |= graphic.rect
                    grown = True
        if min(region.width, region.height) >= MIN_FIGURE_SIDE:
            return region, _method(members)
    return None


def figure_on_scan(caption: pymupdf.Rect, scan: pymupdf.Rect, text_blocks: list[pymupdf.Rect]) -> pymupdf.Rect | None:
    """The band of a page scan between the caption and the nearest body-text block above it."""
    if caption.width >= 0.4 * scan.width:
        x0, x1 = scan.x0, scan.x1  # a wide caption: the figure spans the page
    else:
        x0, x1 = caption.x0, caption.x1  # a column-wide caption: the figure sits in its column
    band = pymupdf.Rect(x0, scan.y0, x1, caption.y0)
    top = scan.y0
    for block in text_blocks:
        # Body text is wide and several lines tall; OCR'd words inside the figure are not.
        is_body_text = block.height >= 20 and block.width >= 0.6 * band.width
        if is_body_text and block.y1 <= caption.y0 and _x_overlap(block, band) >= MIN_COLUMN_OVERLAP:
            top = max(top, block.y1)
    region = pymupdf.Rect(x0, top, x1, caption.y0)
    return region if min(region.width, region.height) >= MIN_FIGURE_SIDE else None


def candidates_on_page(page: pymupdf.Page, patterns: list[LabelPattern]) -> dict[str, list[Candidate]]:
    """Figure regions next to captions that start with a wanted label."""
    blocks = [block for block in page.get_text("blocks") if block[6] == 0]
    hits = []
    for block in blocks:
        first_line = block[4].strip().split("\n", 1)[0]
        for pattern in patterns:
            match = match_caption(pattern, first_line)
            if match:
                hits.append((pattern.label, pymupdf.Rect(block[:4]), first_line, match.punctuated))
    if not hits:
        return {}
    graphics, scan = page_graphics(page)
    text_rects = [pymupdf.Rect(block[:4]) for block in blocks]
    found: dict[str, list[Candidate]] = {}
    for label, caption, first_line, punctuated in hits:
        located = figure_by_graphics(caption, graphics)
        if located is None and scan is not None:
            region = figure_on_scan(caption, scan, [r for r in text_rects if r != caption])
            located = (region, "page_scan_above_caption") if region is not None else None
        if located is not None:
            found.setdefault(label, []).append(Candidate(page.number, located[0], located[1], first_line, punctuated))
    return found


def render(page: pymupdf.Page, rect: pymupdf.Rect, dpi: int, max_side: int) -> pymupdf.Pixmap:
    zoom = min(dpi / 72.0, max_side / max(rect.width, rect.height))
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=rect, colorspace=pymupdf.csRGB, alpha=False)
