"""``figcurate report``: read a run's output folder and write one self-contained HTML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.report import page
from pipeline.report.distributions import all_charts
from pipeline.report.gallery import (
    ShardReader,
    pick_rejects,
    pick_samples,
    reject_cards,
    sample_cards,
)
from pipeline.report.run_output import load_run_output

REJECTS_PER_REASON = 3


@dataclass
class ReportResult:
    path: Path
    bytes: int
    samples: int
    rejects: int
    gallery: int
    reject_examples: int
    charts: int
    charts_skipped: int


def build_report(output: Path, destination: Path | None = None, *, gallery_size: int = 48, seed: int = 0) -> ReportResult:
    run = load_run_output(output)
    destination = destination or run.root / "report.html"
    counts = run.rows("SELECT count(*) AS samples, count(DISTINCT shard) AS shards FROM samples")[0]
    samples, shards = counts["samples"], counts["shards"]
    rejects = run.scalar("SELECT count(*) FROM rejects")
    reader = ShardReader(run)
    cards = sample_cards(run, pick_samples(run, gallery_size, seed), reader)
    examples = pick_rejects(run, REJECTS_PER_REASON, seed)
    rejected = reject_cards(run, [row for rows in examples.values() for row in rows], reader)
    charts = all_charts(run)
    html = page.document(
        f"figcurate report: {run.name}",
        [
            page.header(run.name, str(run.root), run.stats, run.finished, shards),
            page.funnel(run.stats.get("stages", {})),
            page.drop_reasons(run.stats, examples),
            page.distributions(charts),
            page.gallery(cards, samples, seed),
            page.rejects(rejected),
        ],
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(html, encoding="utf-8")
    return ReportResult(
        path=destination,
        bytes=destination.stat().st_size,
        samples=samples,
        rejects=rejects,
        gallery=len(cards),
        reject_examples=len(rejected),
        charts=sum(chart.svg is not None for chart in charts),
        charts_skipped=sum(chart.svg is None for chart in charts),
    )
