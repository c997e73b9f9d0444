"""Charts as inline SVG strings: horizontal bars for counts, vertical bars for histograms.

Every chart is an ``<svg class="chart" data-chart=NAME>``; the page's script checks that each one
rendered with a non-empty box (what the browser test reads back). All text is escaped here.
"""

from __future__ import annotations

from html import escape

BAR_COLOR = "#4c78a8"
WIDTH = 560
ROW_HEIGHT = 22
LABEL_WIDTH = 190


def _svg(name: str, title: str, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(name: str, title: str, rows: list[tuple[str, float, str]]) -> str:
    """One horizontal bar per (label, value, text shown after the bar), longest bar the largest value."""
    largest = max((value for _, value, _ in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 90
    body = []
    for position, (label, value, text) in enumerate(rows):
        y = position * ROW_HEIGHT
        length = max(1.0, room * value / largest) if value else 0.0
        shown_label = label if len(label) <= 32 else label[:31] + "…"
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" class="label">{escape(shown_label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW_HEIGHT - 6}" fill="{BAR_COLOR}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 5:.1f}" y="{y + 15}" class="value">{escape(text)}</text>'
        )
    return _svg(name, title, max(ROW_HEIGHT, ROW_HEIGHT * len(rows)), body)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"


def histogram(name: str, title: str, counts: list[tuple[float, float, int]], x_label: str) -> str:
    """Vertical bars of (low, high, count) bins, in order."""
    height, bottom, left = 220, 180, 50
    largest = max(n for _, _, n in counts) or 1
    bar_width = (WIDTH - left - 10) / len(counts)
    body = [
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" stroke="#888"/>',
        f'<text x="{left - 4}" y="20" text-anchor="end" class="value">{largest}</text>',
        f'<text x="{left - 4}" y="{bottom}" text-anchor="end" class="value">0</text>',
    ]
    for position, (low, high, n) in enumerate(counts):
        bar = (bottom - 20) * n / largest
        x = left + position * bar_width
        body.append(
            f'<rect x="{x + 1:.1f}" y="{bottom - bar:.1f}" width="{max(bar_width - 2, 1):.1f}" height="{bar:.1f}" fill="{BAR_COLOR}">'
            f"<title>{_number(low)} – {_number(high)}: {n}</title></rect>"
        )
    body += [
        f'<text x="{left}" y="{bottom + 16}" class="value">{_number(counts[0][0])}</text>',
        f'<text x="{WIDTH - 10}" y="{bottom + 16}" text-anchor="end" class="value">{_number(counts[-1][1])}</text>',
        f'<text x="{(left + WIDTH) / 2:.0f}" y="{bottom + 34}" text-anchor="middle" class="label">{escape(x_label)} (n = {sum(n for _, _, n in counts)})</text>',
    ]
    return _svg(name, title, height, body)
