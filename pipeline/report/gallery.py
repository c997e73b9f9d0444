"""The sample gallery and the rejected-sample examples: which records, and their thumbnails.

Gallery samples are drawn at random with a seed (the same seed, the same cards). Each card shows
its figure with every panel box found on it; a panel sample also shows its own crop, and its
figure is the original from a local source when that file is still there, else rebuilt from the
panel crops in the shard. Rejects keep no bytes, so a rejected figure's thumbnail comes from a
local source's media file when there is one; a duplicate also shows the sample kept instead.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.figures import figure_records
from pipeline.report.run_output import RunOutput
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
    image: str | None = None  # the sample itself (a panel's crop); None for a whole figure, shown as ``figure``
    figure: str | None = None
    figure_size: tuple[int, int] = (1, 1)  # the coordinate space of the panel boxes: the source image's pixels
    figure_note: str = ""


@dataclass
class RejectCard:
    row: dict
    image: str | None = None
    note: str = ""
    kept_instead: SampleCard | None = None


@dataclass
class ShardReader:
    """Sample images by key, each shard read at most once for everything the report asks of it."""

    run: RunOutput
    shard_of: dict[str, str]
    images: dict[str, bytes] = field(default_factory=dict)

    def load(self, keys: set[str]) -> None:
        by_shard = defaultdict(set)
        for key in keys - set(self.images):
            if key in self.shard_of:
                by_shard[self.shard_of[key]].add(key)
        for shard, wanted in sorted(by_shard.items()):
            path = self.run.shard_path(shard)
            if path.is_file():
                self.images.update(shard_images(path, wanted))


def pick_samples(index: pa.Table, count: int, seed: int) -> list[dict]:
    keys = sorted(index.column("sample_key").to_pylist())
    chosen = set(random.Random(seed).sample(keys, min(count, len(keys))))
    rows = index.filter(pc.is_in(index.column("sample_key"), pa.array(sorted(chosen)))).to_pylist()
    return sorted(rows, key=lambda row: row["sample_key"])


def _figure_key(row: dict) -> str:
    return row.get("parent_key") or row["sample_key"]


def sample_cards(run: RunOutput, rows: list[dict], reader: ShardReader) -> list[SampleCard]:
    siblings = defaultdict(list)
    for sibling in run.index.select(["sample_key", "parent_key", "panel_box"]).to_pylist():
        siblings[_figure_key(sibling)].append(sibling)
    reader.load({row["sample_key"] for row in rows} | {s["sample_key"] for row in rows if row["panel_index"] is not None for s in siblings[_figure_key(row)]})
    return [sample_card(run, row, siblings[_figure_key(row)], reader.images) for row in rows]


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


def pick_rejects(rejects: pa.Table, per_reason: int, seed: int) -> dict[str, list[dict]]:
    """Up to ``per_reason`` rejected records of each reason, drawn with the seed, in key order."""
    by_reason = defaultdict(list)
    for row in rejects.to_pylist():
        by_reason[row["reason"]].append(row)
    generator = random.Random(seed)
    return {
        reason: sorted(generator.sample(rows, min(per_reason, len(rows))), key=lambda row: row["key"])
        for reason, rows in sorted(by_reason.items())
    }


def reject_cards(run: RunOutput, rows: list[dict], reader: ShardReader) -> list[RejectCard]:
    winners = {row["key"]: match.group(0) for row in rows if (match := KEY_IN_TEXT.search(row.get("detail") or "")) and match.group(0) in reader.shard_of}
    kept = {}
    if winners:
        winner_rows = run.index.filter(pc.is_in(run.index.column("sample_key"), pa.array(sorted(set(winners.values()))))).to_pylist()
        kept = {card.row["sample_key"]: card for card in sample_cards(run, winner_rows, reader)}
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
        return None, "no media file for this figure in the local source"
    return thumbnail_of_file(path)
