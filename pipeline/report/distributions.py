"""The distributions the report charts, computed from the Parquet index.

Counts are of samples unless a chart says "per figure" (a figure split into panels gives several
samples that share its caption and source image). A column that is absent or all null gives a
chart with a note instead of an SVG.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.report.charts import bar_chart, histogram

TOP_CATEGORIES = 15


@dataclass
class Chart:
    name: str
    title: str
    svg: str | None
    note: str = ""


def _values(table: pa.Table, column: str) -> list | None:
    """The column's non-null values, or None when the run has no such data."""
    if column not in table.column_names or table.column(column).null_count == table.num_rows:
        return None
    return pc.drop_null(table.column(column)).to_pylist()


def per_figure(index: pa.Table) -> pa.Table:
    """One row per figure: the first sample of each parent figure (a figure kept whole is its own parent)."""
    if index.num_rows == 0:
        return index
    figure_keys = pc.coalesce(index.column("parent_key"), index.column("sample_key")).to_pylist()
    first = {key: position for position, key in reversed(list(enumerate(figure_keys)))}
    return index.take(sorted(first.values()))


def _count_rows(counts: Counter, *, by_count: bool = True) -> list[tuple[str, float, str]]:
    items = counts.most_common() if by_count else sorted(counts.items())
    if by_count and len(items) > TOP_CATEGORIES:
        rest = items[TOP_CATEGORIES - 1 :]
        items = [*items[: TOP_CATEGORIES - 1], (f"other ({len(rest)} values)", sum(n for _, n in rest))]
    total = sum(counts.values())
    return [(str(label), n, f"{n} ({100 * n / total:.0f}%)") for label, n in items]


def _missing(name: str, title: str, column: str) -> Chart:
    return Chart(name, title, None, f"not in this run: the index has no {column} values")


def category_chart(index: pa.Table, column: str, title: str, *, by_count: bool = True) -> Chart:
    values = _values(index, column)
    if values is None:
        return _missing(column, title, column)
    rows = _count_rows(Counter(values), by_count=by_count)
    return Chart(column, title, bar_chart(column, title, rows))


def histogram_chart(name: str, title: str, values: list[float] | None, x_label: str, column: str) -> Chart:
    if not values:
        return _missing(name, title, column)
    return Chart(name, title, histogram(name, title, values, x_label))


def panels_per_figure(index: pa.Table) -> Chart:
    title = "Panels per figure (1: kept whole)"
    if index.num_rows == 0:
        return _missing("panels_per_figure", title, "sample")
    figures = Counter(pc.coalesce(index.column("parent_key"), index.column("sample_key")).to_pylist())
    rows = _count_rows(Counter(figures.values()), by_count=False)
    rows = [(f"{label} panel{'s' if label != '1' else ''}", n, text) for label, n, text in rows]
    return Chart("panels_per_figure", title, bar_chart("panels_per_figure", title, rows))


def all_charts(index: pa.Table) -> list[Chart]:
    figures = per_figure(index)
    captions = _values(figures, "caption")
    sizes = figures.select(["source_width", "source_height"]).to_pylist()
    longest_sides = [max(s["source_width"], s["source_height"]) for s in sizes if s["source_width"] and s["source_height"]]
    return [
        category_chart(index, "figure_type", "Figure type (samples)"),
        category_chart(index, "license", "License (samples)"),
        category_chart(index, "year", "Publication year (samples)", by_count=False),
        category_chart(index, "journal", "Journal (samples)"),
        histogram_chart("caption_length", "Caption length, per figure", [len(c) for c in captions] if captions else None, "caption characters", "caption"),
        histogram_chart("image_size", "Source image size, per figure", longest_sides or None, "longest side in pixels", "source_width"),
        panels_per_figure(index),
        histogram_chart("clip_score", "CLIP image-text score (samples)", _values(index, "clip_score"), "cosine similarity", "clip_score"),
    ]
