"""The sample gallery and the rejected-sample examples: which records, and their thumbnails.

Gallery samples and reject examples are drawn by a seeded hash of their keys (the same seed, the
same cards), in SQL so that only the chosen rows leave DuckDB. Each card shows its figure with
every panel box found on it; a panel sample also shows its own crop, and its figure is the original
from a local source when that file is still there, else rebuilt from the panel crops in the shard.
Rejects keep no bytes, so a rejected figure's thumbnail comes from a local source's media file
when there is one; a duplicate also shows the sample kept instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.figures import figure_records
from pipeline.report.run_output import FIGURE_KEY, RunOutput
from pipeline.report.thumbnails import (
    data_uri,
    decode,
    reassembled_figure,
    shard_images,
    thumbnail_of_file,
)

KEY_IN_TEXT = re.compile(r"PMC\d+v\d+-f\d{3,}(?:-p\d{2,})?")


@dataclass
class SampleCard:
    row: dict
    image: str | None = None  # a panel's own crop; a whole figure is shown as ``figure`` only
    figure: str | None = None
    figure_size: tuple[int, int] = (1, 1)  # the panel boxes' coordinates: the source image's pixels
    figure_note: str = ""


@dataclass
class RejectCard:
    row: dict
    image: str | None = None
    note: str = ""
    kept_instead: SampleCard | None = None


@dataclass
class ShardReader:
    """Sample images by key, each shard read once for everything asked of it at a time."""

    run: RunOutput
    images: dict[str, bytes] = field(default_factory=dict)

    def load(self, rows: list[dict]) -> None:
        by_shard = defaultdict(set)
        for row in rows:
            if row["sample_key"] not in self.images:
                by_shard[row["shard"]].add(row["sample_key"])
        for shard, wanted in sorted(by_shard.items()):
            stream = self.run.open_shard(shard)
            if stream is not None:
                with stream:
                    self.images.update(shard_images(stream, wanted))


def _samples(run: RunOutput, keys: list[str]) -> list[dict]:
    if not keys:
        return []
    return run.rows("SELECT * FROM samples WHERE list_contains(?, sample_key) ORDER BY sample_key", [keys])


def pick_samples(run: RunOutput, count: int, seed: int) -> list[dict]:
    chosen = run.rows("SELECT sample_key FROM samples ORDER BY md5(sample_key || ':' || ?), sample_key LIMIT ?", [str(seed), count])
    return _samples(run, [row["sample_key"] for row in chosen])


def sample_cards(run: RunOutput, rows: list[dict], reader: ShardReader) -> list[SampleCard]:
    parents = sorted({row["parent_key"] for row in rows if row["panel_index"] is not None})
    siblings = defaultdict(list)
    if parents:
        for sibling in run.rows(f"SELECT sample_key, parent_key, panel_box, shard FROM samples WHERE list_contains(?, {FIGURE_KEY})", [parents]):
            siblings[sibling["parent_key"]].append(sibling)
    reader.load(rows + [sibling for group in siblings.values() for sibling in group])
    return [sample_card(run, row, siblings.get(row["parent_key"], []), reader.images) for row in rows]


def sample_card(run: RunOutput, row: dict, siblings: list[dict], images: dict[str, bytes]) -> SampleCard:
    card = SampleCard(row, figure_size=(row["source_width"] or 1, row["source_height"] or 1))
    own = images.get(row["sample_key"])
    if own is None:
        card.figure_note = "image not found in its shard"
        return card
    if row["panel_index"] is None:
        card.figure = data_uri(decode(own))
        return card
    card.image = data_uri(decode(own))
    original, _ = thumbnail_of_file(run.source_file(row["media_key"]) if row.get("media_source") != "pdf" else None)
    if original is not None:
        card.figure, card.figure_note = original, "the original figure, from the run's local source"
    else:
        panels = [(s["panel_box"], images[s["sample_key"]]) for s in siblings if s["panel_box"] and s["sample_key"] in images]
        card.figure = data_uri(reassembled_figure(panels, card.figure_size), side=2 * 256)
        card.figure_note = "the figure rebuilt from its panels in the shard (gaps are white)"
    return card


def pick_rejects(run: RunOutput, per_reason: int, seed: int) -> dict[str, list[dict]]:
    """Up to ``per_reason`` rejected records of each reason, drawn with the seed, in key order."""
    rows = run.rows(
        "SELECT * FROM rejects QUALIFY row_number() OVER (PARTITION BY reason ORDER BY md5(key || ':' || ?), key) <= ? ORDER BY reason, key",
        [str(seed), per_reason],
    )
    by_reason = defaultdict(list)
    for row in rows:
        by_reason[row["reason"]].append(row)
    return dict(by_reason)


def reject_cards(run: RunOutput, rows: list[dict], reader: ShardReader) -> list[RejectCard]:
    winners = {row["key"]: match.group(0) for row in rows if (match := KEY_IN_TEXT.search(row.get("detail") or ""))}
    kept = {card.row["sample_key"]: card for card in sample_cards(run, _samples(run, sorted(set(winners.values()))), reader)}
    return [RejectCard(row, *_rejected_image(run, row), kept_instead=kept.get(winners.get(row["key"]))) for row in rows]


def _rejected_image(run: RunOutput, row: dict) -> tuple[str | None, str]:
    if row["figure_index"] is None:
        return None, "an article-level drop: no figure to show"
    folder = run.source_folder(row["source_prefix"])
    if folder is None:
        return thumbnail_of_file(None)
    try:
        records = figure_records(folder)
    except (OSError, ValueError) as error:
        return None, f"the source article could not be read again: {error}"
    media = next((r["media_key"] for r in records if r.get("figure_index") == row["figure_index"]), None)
    path = run.source_file(f"{row['source_prefix']}/{media}") if media else None
    if path is None:
        return None, "the figure's media file could not be found again in the local source"
    return thumbnail_of_file(path)
