"""The report as one HTML document: inline CSS, inline SVG, images as data URIs, a little script.

Nothing here refers to anything outside the file. Every string that comes from the data (captions,
keys, details, journal names) goes through ``text`` (``html.escape``) before it is placed.
"""

from __future__ import annotations

from html import escape

from pipeline.report.charts import bar_chart
from pipeline.report.distributions import Chart
from pipeline.report.gallery import RejectCard, SampleCard
from schemas.drop_reasons import DROP_REASONS

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 16px;color:#222}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 0;z-index:2}
nav a{margin-right:14px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts figure{margin:0;border:1px solid #eee;padding:8px}
svg.chart text{font-size:12px;fill:#333}
.note{color:#a00;font-style:italic}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{border:1px solid #ddd;padding:8px;overflow-wrap:anywhere}
.card.hidden{display:none}
.figure{position:relative;display:inline-block;max-width:100%}
.figure img{display:block;max-width:100%}
.figure svg{position:absolute;left:0;top:0;width:100%;height:100%}
.figure rect{fill:none;stroke:#e45756;stroke-width:2;vector-effect:non-scaling-stroke}
.figure rect.this{stroke:#ffbf00;stroke-width:4}
img.panel{max-width:45%;border:2px solid #ffbf00;vertical-align:top}
.caption{max-height:9em;overflow:auto;font-size:13px}
.key{font-family:monospace;font-size:12px}
dl{display:grid;grid-template-columns:auto 1fr;gap:0 8px;font-size:12px;margin:4px 0}dt{color:#666}dd{margin:0}
"""

# Marks the page once the browser has laid the charts out and decoded the images (and how long the
# load took), which is what the headless browser test reads back from the DOM. The filter box narrows
# the gallery by any text.
SCRIPT = """
window.addEventListener('load', function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll('svg.chart'));
  var drawn = charts.filter(function (c) { var b = c.getBBox(); return b.width > 0 && b.height > 0; });
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-charts-rendered', drawn.length + '/' + charts.length);
  document.body.setAttribute('data-images-decoded', decoded.length + '/' + images.length);
  document.body.setAttribute('data-load-ms', Math.round(performance.now()));
  var filter = document.getElementById('gallery-filter');
  if (filter) filter.addEventListener('input', function () {
    var needle = filter.value.toLowerCase();
    document.querySelectorAll('#gallery .card').forEach(function (card) {
      card.classList.toggle('hidden', needle !== '' && card.textContent.toLowerCase().indexOf(needle) < 0);
    });
  });
});
"""


def text(value) -> str:
    return "" if value is None else escape(str(value))


def _number(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else text(value)


def header(run_name: str, root: str, stats: dict, finished: bool, shards: int) -> str:
    state = "finished" if finished else "in progress or stopped: counts are of the work units finished so far"
    source = stats.get("source", {})
    facts = [
        ("output", root),
        ("state", state),
        ("source", f"{source.get('article_versions', '?')} article versions from {source.get('root', '?')}" if source else "unknown (no stats.json yet)"),
        ("samples", stats.get("samples")),
        ("rejected records", stats.get("rejects")),
        ("shards", f"{shards} ({stats.get('shard_bytes', 0) / 1e6:.1f} MB)"),
    ]
    if "excluded_by_view" in stats:  # a view: what its newer runs replaced or retracted
        facts.append(("excluded by the view", ", ".join(f"{reason} {n}" for reason, n in stats["excluded_by_view"].items()) or "none"))
    rows = "".join(f"<tr><th>{text(name)}</th><td>{text(value)}</td></tr>" for name, value in facts)
    return f"<h1>figcurate report: {text(run_name)}</h1><table>{rows}</table>"


def funnel(stages: dict) -> str:
    rows = "".join(
        f'<tr data-stage="{text(name)}"><td>{text(name)}</td><td>{text(c["unit"])}</td><td class="n funnel-in">{c["in"]}</td>'
        f'<td class="n funnel-out">{c["out"]}</td><td>{text(", ".join(f"{r} {n}" for r, n in c["dropped"].items()) or "–")}</td></tr>'
        for name, c in stages.items()
    )
    chart = bar_chart("funnel", "Records out of each stage", [(f"{name} ({c['unit']})", c["out"], f"{c['in']} → {c['out']}") for name, c in stages.items()])
    return (
        '<h2 id="funnel">Funnel</h2><p>Records into and out of each stage, in the stage\'s own unit '
        "(a figure split into panels becomes several panel records).</p>"
        f"<table><tr><th>stage</th><th>unit</th><th>in</th><th>out</th><th>dropped</th></tr>{rows}</table>"
        f'<div class="charts"><figure>{chart}</figure></div>'
    )


def drop_reasons(stats: dict, examples: dict[str, list[dict]]) -> str:
    stage_of = {reason: name for name, c in stats.get("stages", {}).items() for reason in c["dropped"]}
    counts = stats.get("drops_by_reason", {})
    if not counts:
        return '<h2 id="drops">Drop reasons</h2><p>Nothing was dropped.</p>'
    rows = []
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        shown = "".join(f'<li><span class="key">{text(e["key"])}</span>: {text(e["detail"])}</li>' for e in examples.get(reason, []))
        rows.append(
            f'<tr data-reason="{text(reason)}"><td>{text(reason)}</td><td>{text(stage_of.get(reason))}</td>'
            f'<td class="n drop-count">{count}</td><td>{text(DROP_REASONS.get(reason, ""))}</td><td><ul>{shown}</ul></td></tr>'
        )
    chart = bar_chart("drop_reasons", "Dropped records by reason", [(reason, n, str(n)) for reason, n in sorted(counts.items(), key=lambda i: -i[1])])
    return (
        '<h2 id="drops">Drop reasons</h2>'
        f"<table><tr><th>reason</th><th>stage</th><th>count</th><th>meaning</th><th>examples (key: detail)</th></tr>{''.join(rows)}</table>"
        f'<div class="charts"><figure>{chart}</figure></div>'
    )


def distributions(charts: list[Chart]) -> str:
    figures = []
    for chart in charts:
        body = chart.svg if chart.svg is not None else f'<p class="note">{text(chart.note)}</p>'
        figures.append(f'<figure data-distribution="{text(chart.name)}"><figcaption>{text(chart.title)}</figcaption>{body}</figure>')
    return f'<h2 id="distributions">Distributions</h2><div class="charts">{"".join(figures)}</div>'


def figure_with_boxes(card: SampleCard) -> str:
    if card.figure is None:
        return f'<p class="note">{text(card.figure_note)}</p>'
    width, height = card.figure_size
    own_box = card.row.get("panel_box")
    rects = "".join(
        f'<rect class="{"this" if box == own_box else "other"}" x="{box[0]}" y="{box[1]}" width="{box[2] - box[0]}" height="{box[3] - box[1]}"/>'
        for box in card.row.get("panel_boxes") or []
        if box and len(box) == 4
    )
    note = f'<div class="key">{text(card.figure_note)}</div>' if card.figure_note else ""
    return (
        f'<div class="figure"><img alt="figure" src="{card.figure}">'
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">{rects}</svg></div>{note}'
    )


SCORE_FIELDS = (
    ("clip", "clip_score"), ("clip zero-shot type", "clip_figure_type"), ("figure type", "figure_type"),
    ("type source", "figure_type_source"), ("type confidence", "figure_type_confidence"), ("split", "split_method"),
    ("split confidence", "split_confidence"), ("subcaption confidence", "subcaption_confidence"), ("alignment", "alignment"), ("caption language", "caption_language"),
    ("dominant colour", "dominant_color_fraction"), ("dedup", "dedup_status"), ("license", "license"),
    ("journal", "journal"), ("year", "year"), ("shard", "shard"),
)  # fmt: skip


def sample_card(card: SampleCard, css_class: str = "card") -> str:
    row = card.row
    panel = f'<img class="panel" alt="panel" src="{card.image}">' if card.image else ""
    subcaption = f"<p><b>subcaption {text(row.get('panel_label'))}:</b> {text(row.get('subcaption'))}</p>" if row.get("subcaption") else ""
    scores = "".join(f"<dt>{text(name)}</dt><dd>{_number(row.get(column))}</dd>" for name, column in SCORE_FIELDS if row.get(column) is not None)
    return (
        f'<div class="{css_class}" data-key="{text(row["sample_key"])}"><div class="key">{text(row["sample_key"])}</div>'
        f"{figure_with_boxes(card)}{panel}"
        f'<p class="caption"><b>{text(row.get("label"))}</b> {text(row.get("caption"))}</p>{subcaption}<dl>{scores}</dl></div>'
    )


def gallery(cards: list[SampleCard], of_samples: int, seed: int) -> str:
    return (
        f'<h2 id="gallery">Sample gallery</h2><p>{len(cards)} of {of_samples} samples, drawn at random with seed {seed}. '
        "Red boxes are the panels found on the figure; the yellow one is this sample's panel.</p>"
        '<p><input id="gallery-filter" type="search" placeholder="filter by any text (key, caption, type, journal)" size="50"></p>'
        f'<div class="cards" id="gallery">{"".join(sample_card(card) for card in cards)}</div>'
    )


def reject_card(card: RejectCard) -> str:
    row = card.row
    image = f'<img alt="rejected figure" src="{card.image}">' if card.image else f'<p class="note">{text(card.note)}</p>'
    kept = ""
    if card.kept_instead is not None:
        kept = f"<p>kept instead:</p>{sample_card(card.kept_instead, css_class='kept')}"
    return (
        f'<div class="card reject" data-key="{text(row["key"])}" data-reason="{text(row["reason"])}"><div class="key">{text(row["key"])}</div>'
        f"{image}<dl><dt>stage</dt><dd>{text(row['stage'])}</dd><dt>reason</dt><dd>{text(row['reason'])}</dd>"
        f"<dt>detail</dt><dd>{text(row['detail'])}</dd><dt>source</dt><dd>{text(row['source_prefix'])}</dd></dl>{kept}</div>"
    )


def rejects(cards: list[RejectCard]) -> str:
    if not cards:
        return '<h2 id="rejects">Rejected samples</h2><p>None.</p>'
    return (
        '<h2 id="rejects">Rejected samples</h2><p>A few records of each drop reason, with the figure when its bytes can still be read.</p>'
        f'<div class="cards">{"".join(reject_card(card) for card in cards)}</div>'
    )


def document(title: str, sections: list[str]) -> str:
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in (
        ("funnel", "Funnel"), ("drops", "Drop reasons"), ("distributions", "Distributions"), ("gallery", "Gallery"), ("rejects", "Rejected")))  # fmt: skip
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{text(title)}</title>'
        # No request may leave the page: only inline styles and scripts, images from data: URIs.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<style>{STYLE}</style></head><body><nav>{nav}</nav>{''.join(sections)}<script>{SCRIPT}</script></body></html>\n"
    )
