"""The distributions the report charts, aggregated by DuckDB over the index (``samples`` view).

Counts are of samples unless a chart says "per figure" (a figure split into panels gives several
samples that share its caption and source image). A column that is absent or all null gives a
chart with a note instead of an SVG. Column names below are the report's own, never user input.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.report.charts import bar_chart, histogram
from pipeline.report.run_output import FIGURE_KEY, RunOutput

TOP_CATEGORIES = 15
HISTOGRAM_BINS = 20
# One row per figure (its panels share the caption and the source image), aggregated rather than
# windowed so that DuckDB never holds the captions of a large run.
FIGURES = (
    "(SELECT max(length(caption)) AS caption_chars, max(greatest(source_width, source_height)) AS longest_side"
    f" FROM samples GROUP BY {FIGURE_KEY})"
)


@dataclass
class Chart:
    name: str
    title: str
    svg: str | None
    note: str = ""


def _present(run: RunOutput, column: str) -> bool:
    columns = {row["column_name"] for row in run.rows("DESCRIBE samples")}
    return column in columns and run.scalar(f'SELECT count("{column}") FROM samples') > 0


def _missing(name: str, title: str, column: str) -> Chart:
    return Chart(name, title, None, f"not in this run: the index has no {column} values")


def _bar_rows(counts: list[tuple], total: int) -> list[tuple[str, float, str]]:
    return [(str(label), n, f"{n} ({100 * n / total:.0f}%)") for label, n in counts]


def category_chart(run: RunOutput, column: str, title: str, *, by_count: bool = True) -> Chart:
    if not _present(run, column):
        return _missing(column, title, column)
    order = "2 DESC, 1" if by_count else "1"
    counts = [tuple(row.values()) for row in run.rows(f'SELECT "{column}" AS value, count(*) AS n FROM samples WHERE "{column}" IS NOT NULL GROUP BY 1 ORDER BY {order}')]
    total = sum(n for _, n in counts)
    if by_count and len(counts) > TOP_CATEGORIES:
        rest = counts[TOP_CATEGORIES - 1 :]
        counts = [*counts[: TOP_CATEGORIES - 1], (f"other ({len(rest)} values)", sum(n for _, n in rest))]
    return Chart(column, title, bar_chart(column, title, _bar_rows(counts, total)))


def histogram_bins(run: RunOutput, expression: str, table: str = "samples") -> list[tuple[float, float, int]]:
    """(low, high, count) of ``HISTOGRAM_BINS`` equal-width bins over the expression's non-null range."""
    rows = run.rows(
        f"WITH v AS (SELECT CAST({expression} AS DOUBLE) AS x FROM {table} WHERE {expression} IS NOT NULL), "
        "r AS (SELECT min(x) AS low, max(x) AS high FROM v) "
        f"SELECT low, high, least(CAST(floor((x - low) / nullif(high - low, 0) * {HISTOGRAM_BINS}) AS INTEGER), {HISTOGRAM_BINS - 1}) AS bin,"
        " count(*) AS n FROM v, r GROUP BY ALL ORDER BY bin"
    )
    if not rows:
        return []
    low, high = rows[0]["low"], rows[0]["high"]
    if low == high:
        return [(low, high, rows[0]["n"])]
    step = (high - low) / HISTOGRAM_BINS
    counts = {row["bin"]: row["n"] for row in rows}
    return [(low + i * step, low + (i + 1) * step, counts.get(i, 0)) for i in range(HISTOGRAM_BINS)]


def histogram_chart(run: RunOutput, name: str, title: str, expression: str, x_label: str, column: str, table: str = "samples") -> Chart:
    bins = histogram_bins(run, expression, table) if _present(run, column) else []
    if not bins:
        return _missing(name, title, column)
    return Chart(name, title, histogram(name, title, bins, x_label))


def panels_per_figure(run: RunOutput) -> Chart:
    name, title = "panels_per_figure", "Panels per figure (1: kept whole)"
    counts = [
        (f"{row['panels']} panel{'s' if row['panels'] != 1 else ''}", row["figures"])
        for row in run.rows(f"SELECT panels, count(*) AS figures FROM (SELECT count(*) AS panels FROM samples GROUP BY {FIGURE_KEY}) GROUP BY 1 ORDER BY 1")
    ]
    if not counts:
        return _missing(name, title, "sample")
    return Chart(name, title, bar_chart(name, title, _bar_rows(counts, sum(n for _, n in counts))))


def all_charts(run: RunOutput) -> list[Chart]:
    return [
        category_chart(run, "figure_type", "Figure type (samples)"),
        category_chart(run, "license", "License (samples)"),
        category_chart(run, "year", "Publication year (samples)", by_count=False),
        category_chart(run, "journal", "Journal (samples)"),
        histogram_chart(run, "caption_length", "Caption length, per figure", "caption_chars", "caption characters", "caption", FIGURES),
        histogram_chart(run, "image_size", "Source image size, per figure", "longest_side", "longest side in pixels", "source_width", FIGURES),
        panels_per_figure(run),
        histogram_chart(run, "clip_score", "CLIP image-text score (samples)", "clip_score", "cosine similarity", "clip_score"),
    ]
