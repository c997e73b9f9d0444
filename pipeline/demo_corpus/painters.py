"""Panel painters: each fills a (width, height) RGB picture that looks like one kind of figure panel.

Smooth content is drawn at a reduced resolution and scaled up: it looks the same and keeps a
300-article corpus inside its time budget.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

Painter = Callable[[np.random.Generator, int, int], Image.Image]

FLUOROPHORE_COLORS = np.array(
    [[40, 255, 60], [255, 40, 40], [60, 120, 255], [255, 60, 255], [40, 230, 230]], dtype=np.float32
)
PLOT_COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (90, 90, 90)]


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _upscale(small: np.ndarray, width: int, height: int) -> Image.Image:
    array = np.clip(small, 0, 255).astype(np.uint8)
    return Image.fromarray(array).resize((width, height), Image.BILINEAR)


GRAIN_FIELD_SIDE = 2048  # larger than any panel the generator draws


@lru_cache(maxsize=4)
def _grain_field(amplitude: int) -> Image.Image:
    # A fixed-seed noise field shared by all panels: a crop of it is far cheaper than fresh noise.
    field_rng = np.random.default_rng(amplitude)
    shape = (GRAIN_FIELD_SIDE, GRAIN_FIELD_SIDE, 3)
    return Image.fromarray(field_rng.integers(128 - amplitude, 129 + amplitude, size=shape, dtype=np.uint8))


def _add_grain(image: Image.Image, rng: np.random.Generator, amplitude: int) -> Image.Image:
    """Add pixel noise: a crop at a random offset of the shared noise field."""
    x = int(rng.integers(0, GRAIN_FIELD_SIDE - image.width + 1))
    y = int(rng.integers(0, GRAIN_FIELD_SIDE - image.height + 1))
    noise = _grain_field(amplitude).crop((x, y, x + image.width, y + image.height))
    return ImageChops.add(image, noise, scale=1.0, offset=-128)


def paint_fluorescence(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Soft coloured blobs (cells, nuclei) on a near-black background."""
    sw, sh = max(8, width // 4), max(8, height // 4)
    canvas = np.full((sh, sw, 3), rng.uniform(4, 18), dtype=np.float32)
    channels = rng.choice(len(FLUOROPHORE_COLORS), size=rng.integers(1, 4), replace=False)
    for _ in range(int(rng.integers(10, 40))):
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        sigma = rng.uniform(1.2, max(1.5, min(sw, sh) / 12))
        color = FLUOROPHORE_COLORS[rng.choice(channels)] * rng.uniform(0.5, 1.0)
        # Only the 3-sigma window around the blob: the rest would add zeros.
        x0, x1 = max(0, int(cx - 3 * sigma)), min(sw, int(cx + 3 * sigma) + 1)
        y0, y1 = max(0, int(cy - 3 * sigma)), min(sh, int(cy + 3 * sigma) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.ogrid[y0:y1, x0:x1]
        blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma * sigma)).astype(np.float32)
        canvas[y0:y1, x0:x1] += blob[..., None] * color
    return _add_grain(_upscale(canvas, width, height), rng, 6)


def paint_histology(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Pink eosin texture with purple stained nuclei."""
    sw, sh = max(6, width // 10), max(6, height // 10)
    texture = rng.uniform(0, 1, size=(sh, sw)).astype(np.float32)
    pink, purple = np.array([240, 175, 205], np.float32), np.array([150, 80, 165], np.float32)
    small = pink * (1 - texture[..., None] * 0.6) + purple * (texture[..., None] * 0.6)
    image = _upscale(small, width, height)
    draw = ImageDraw.Draw(image)
    for _ in range(int(width * height / 2500)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(2, 6)
        shade = int(rng.integers(60, 120))
        draw.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=(shade, 30, shade + 40))
    return _add_grain(image, rng, 12)


def paint_radiology(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Grayscale cross-section: a bright noisy body ellipse holding darker and brighter circles."""
    sw, sh = max(16, width // 3), max(16, height // 3)
    small = Image.new("L", (sw, sh), int(rng.integers(0, 20)))
    draw = ImageDraw.Draw(small)
    margin_x, margin_y = sw * rng.uniform(0.05, 0.15), sh * rng.uniform(0.05, 0.15)
    draw.ellipse((margin_x, margin_y, sw - margin_x, sh - margin_y), fill=int(rng.integers(90, 150)))
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(0.3, 0.7) * sw, rng.uniform(0.3, 0.7) * sh
        r = rng.uniform(0.03, 0.15) * min(sw, sh)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.integers(30, 250)))
    gray = _add_grain(small.resize((width, height), Image.BILINEAR).convert("RGB"), rng, 12)
    return gray.convert("L").convert("RGB")


def paint_gel(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Western-blot-like lanes of dark bands on a light background."""
    sw, sh = max(20, width // 4), max(20, height // 4)
    small = np.full((sh, sw), rng.uniform(200, 235), dtype=np.float32)
    lanes = int(rng.integers(4, 11))
    lane_w = sw / lanes
    band_rows = rng.uniform(0.1, 0.9, size=int(rng.integers(2, 6))) * sh
    ys = np.arange(sh, dtype=np.float32)[:, None]
    for lane in range(lanes):
        x0, x1 = int(lane * lane_w + lane_w * 0.15), int((lane + 1) * lane_w - lane_w * 0.15)
        for row in band_rows:
            strength = rng.uniform(0, 180)
            profile = np.exp(-((ys - row) ** 2) / (2 * max(1.0, sh / 60) ** 2))
            small[:, x0:x1] -= profile * strength
    rgb = np.repeat(small[..., None], 3, axis=2)
    return _add_grain(_upscale(rgb, width, height), rng, 6)


def _axes(draw: ImageDraw.ImageDraw, width: int, height: int) -> tuple[int, int, int, int]:
    """Draw plot axes with ticks; return the plotting area (left, top, right, bottom)."""
    left, bottom = int(width * 0.16), int(height * 0.84)
    top, right = int(height * 0.12), int(width * 0.94)
    line = max(1, width // 300)
    draw.line((left, top, left, bottom), fill=(0, 0, 0), width=line)
    draw.line((left, bottom, right, bottom), fill=(0, 0, 0), width=line)
    tick_font = font(max(9, min(width, height) // 22))
    for step in range(5):
        y = bottom - (bottom - top) * step // 4
        draw.line((left - 5, y, left, y), fill=(0, 0, 0), width=line)
        draw.text((left - 8, y), str(step * 25), font=tick_font, fill=(0, 0, 0), anchor="rm")
    return left, top, right, bottom


def paint_bar_chart(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Bars with error bars on white: a panel with much white space inside."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _axes(draw, width, height)
    bars = int(rng.integers(2, 8))
    slot = (right - left) / bars
    for bar in range(bars):
        value = rng.uniform(0.15, 0.95) * (bottom - top)
        x0 = left + slot * bar + slot * 0.2
        x1 = left + slot * (bar + 1) - slot * 0.2
        draw.rectangle((x0, bottom - value, x1, bottom), fill=PLOT_COLORS[bar % len(PLOT_COLORS)])
        err, mid = value * rng.uniform(0.03, 0.12), (x0 + x1) / 2
        draw.line((mid, bottom - value - err, mid, bottom - value + err), fill=(0, 0, 0), width=2)
    return image


def paint_line_plot(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """One to three noisy curves with markers on white."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _axes(draw, width, height)
    points = int(rng.integers(5, 14))
    xs = np.linspace(left + 6, right - 6, points)
    for series in range(int(rng.integers(1, 4))):
        trend = np.cumsum(rng.normal(0.05, 0.12, size=points))
        trend = (trend - trend.min()) / max(1e-6, np.ptp(trend))
        ys = bottom - 8 - trend * (bottom - top - 16)
        color = PLOT_COLORS[series]
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=color, width=max(2, width // 250))
        for x, y in zip(xs.tolist(), ys.tolist()):
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=color)
    return image


PAINTERS: dict[str, Painter] = {
    "fluorescence": paint_fluorescence,
    "histology": paint_histology,
    "radiology": paint_radiology,
    "gel": paint_gel,
    "bar_chart": paint_bar_chart,
    "line_plot": paint_line_plot,
}
# Panels whose label reads best in white.
DARK_KINDS = frozenset({"fluorescence", "radiology"})
