"""Figure geometry (panel boxes, labels, kinds) and its rendering to JPEG/GIF bytes.

Geometry is decided first (``plan_figure``) so the caption can name the panels; pixels are drawn
later (``draw_figure``) from the same plan.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .painters import DARK_KINDS, PAINTERS, font

JPEG_QUALITY = 90
THUMBNAIL_WIDTH = 120
TINY_SIZE = (40, 30)

# Each layout is a list of rows; each row lists the relative widths of its panels.
COMPOUND_LAYOUTS: dict[str, list[list[float]]] = {
    "1x2": [[1, 1]],
    "2x1": [[1], [1]],
    "1x3": [[1, 1, 1]],
    "2x2": [[1, 1], [1, 1]],
    "2x3": [[1, 1, 1], [1, 1, 1]],
    "3x2": [[1, 1], [1, 1], [1, 1]],
    "3x3": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "wide_top_2": [[1], [1, 1]],
    "wide_top_3": [[1], [1, 1, 1]],
    "wide_bottom": [[1, 1], [1]],
    "uneven_rows": [[2, 1], [1, 1, 1]],
    "three_over_four": [[1, 1, 1], [1, 1, 1, 1]],
    "two_three_three": [[1, 1], [1, 1, 1], [1, 1, 1]],
}
LAYOUT_WEIGHTS = {"1x2": 4, "2x1": 2, "1x3": 3, "2x2": 5, "2x3": 3, "3x2": 2, "3x3": 1,
                  "wide_top_2": 2, "wide_top_3": 1, "wide_bottom": 1, "uneven_rows": 1,
                  "three_over_four": 1, "two_three_three": 1}
KIND_WEIGHTS = {"fluorescence": 4, "histology": 3, "radiology": 2, "gel": 2, "bar_chart": 3, "line_plot": 2}
MAX_HEIGHT = 1900


@dataclass(frozen=True)
class PanelPlan:
    label: str | None  # None for the single panel of a non-compound figure
    box: tuple[int, int, int, int]  # x0, y0, x1, y1; x1 and y1 exclusive; includes the frame
    kind: str


@dataclass(frozen=True)
class FigurePlan:
    width: int
    height: int
    panels: tuple[PanelPlan, ...]
    frame: int  # frame thickness in px, 0 when panels are unframed
    seed: tuple[int, ...]  # numpy seed for the pixels

    @property
    def compound(self) -> bool:
        return len(self.panels) > 1


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _split(total: int, relative: list[float]) -> list[int]:
    """Integer sizes proportional to ``relative`` that add up to ``total`` exactly."""
    scale = total / sum(relative)
    sizes = [int(r * scale) for r in relative]
    sizes[-1] += total - sum(sizes)
    return sizes


def plan_compound(rng: random.Random, seed: tuple[int, ...]) -> FigurePlan:
    rows = [list(row) for row in COMPOUND_LAYOUTS[_weighted(rng, LAYOUT_WEIGHTS)]]
    max_cols = max(len(row) for row in rows)
    framed = rng.random() < 0.3
    gutter = rng.randint(3, 8) if framed else rng.randint(6, 30)
    frame = rng.randint(2, 4) if framed else 0
    margin = gutter if framed or rng.random() < 0.5 else 0
    width = rng.randint(max(500, 200 * max_cols), 1600)
    if rng.random() < 0.4:  # uneven panel widths inside rows
        rows = [[r * rng.uniform(0.75, 1.3) for r in row] for row in rows]
    primary = _weighted(rng, KIND_WEIGHTS)
    lowercase = rng.random() < 0.2

    boxes: list[tuple[int, int, int, int]] = []
    y = margin
    row_heights = []
    for row in rows:
        widths = _split(width - 2 * margin - gutter * (len(row) - 1), row)
        row_height = int(min(700, max(120, sum(widths) / len(widths) * rng.uniform(0.55, 1.0))))
        row_heights.append(row_height)
        x = margin
        for panel_width in widths:
            # A few panels are shorter than their row, leaving white space below them.
            short = len(row) > 1 and rng.random() < 0.15
            panel_height = int(row_height * rng.uniform(0.7, 0.95)) if short else row_height
            boxes.append((x, y, x + panel_width, y + panel_height))
            x += panel_width + gutter
        y += row_height + gutter
    height = y - gutter + margin
    if height > MAX_HEIGHT:  # tall stacks: retry with a fresh draw rather than squash panels
        return plan_compound(rng, seed)

    panels = []
    for index, box in enumerate(boxes):
        letter = chr(ord("a" if lowercase else "A") + index)
        kind = primary if rng.random() < 0.6 else _weighted(rng, KIND_WEIGHTS)
        panels.append(PanelPlan(letter, box, kind))
    return FigurePlan(width, height, tuple(panels), frame, seed)


def plan_single(rng: random.Random, seed: tuple[int, ...]) -> FigurePlan:
    width = rng.randint(500, 1600)
    height = int(width * rng.uniform(0.5, 1.0))
    kind = _weighted(rng, KIND_WEIGHTS)
    return FigurePlan(width, height, (PanelPlan(None, (0, 0, width, height), kind),), 0, seed)


def plan_tiny(seed: tuple[int, ...]) -> FigurePlan:
    width, height = TINY_SIZE
    return FigurePlan(width, height, (PanelPlan(None, (0, 0, width, height), "histology"),), 0, seed)


def plan_figure(rng: random.Random, seed: tuple[int, ...]) -> FigurePlan:
    return plan_compound(rng, seed) if rng.random() < 0.65 else plan_single(rng, seed)


def _draw_label(image: Image.Image, panel: PanelPlan, frame: int, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = panel.box
    size = int(np.clip(min(x1 - x0, y1 - y0) * 0.09, 14, 40))
    label_font = font(size)
    pad = int(rng.integers(3, 10))
    position = (x0 + frame + pad, y0 + frame + pad)
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.3:  # letter on a white tag
        left, top, right, bottom = draw.textbbox(position, panel.label, font=label_font, anchor="lt")
        draw.rectangle((left - 3, top - 3, right + 3, bottom + 3), fill=(255, 255, 255))
        color = (0, 0, 0)
    else:
        color = (255, 255, 255) if panel.kind in DARK_KINDS else (0, 0, 0)
    draw.text(position, panel.label, font=label_font, fill=color, anchor="lt")


def draw_figure(plan: FigurePlan) -> Image.Image:
    rng = np.random.default_rng(list(plan.seed))
    image = Image.new("RGB", (plan.width, plan.height), (255, 255, 255))
    for panel in plan.panels:
        x0, y0, x1, y1 = panel.box
        inner = (x0 + plan.frame, y0 + plan.frame, x1 - plan.frame, y1 - plan.frame)
        if plan.frame:
            image.paste((30, 30, 30), panel.box)
        content = PAINTERS[panel.kind](rng, inner[2] - inner[0], inner[3] - inner[1])
        image.paste(content, inner[:2])
        if panel.label is not None:
            _draw_label(image, panel, plan.frame, rng)
    return image


def encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def encode_thumbnail_gif(image: Image.Image) -> bytes:
    height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
    small = image.resize((THUMBNAIL_WIDTH, height), Image.BILINEAR)
    buffer = io.BytesIO()
    small.quantize(colors=128).save(buffer, format="GIF")
    return buffer.getvalue()
