"""The shard writer: one work unit's records -> a verified WebDataset tar, index and rejects parts.

Runs on a Ray Data group (all records of one work unit, live and dropped). Each unit writes
``shards/<unit>.tar`` (built in a temp file, read back and counted, then renamed into place),
``index/<unit>.parquet``, ``rejects/<unit>.parquet`` and last ``units/<unit>.json``, its stats
and completion record. Names come from the unit number only, so a retried task overwrites its
own earlier output instead of duplicating it. Tar headers are fixed (mtime, owner, mode), so the
same records always give the same bytes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.keys import article_key, split_of
from schemas.records import (
    DEDUP_CANDIDATE,
    EMBEDDINGS,
    INDEX,
    REJECT,
    SCHEMA_VERSION,
    conform,
)
from stages.io import ustar
from stages.io.output_location import OutputTarget
from stages.io.source_local import ArticleVersion, articles_sha256
from stages.io.storage import file_hexdigest

MEMBER_EXTENSIONS = ("jpg", "txt", "json")
# written when the llm stage produced them: the recaption, and the conversation with its VQA pairs
OPTIONAL_EXTENSIONS = ("recap.txt", "conv.json")
# (stage name, unit it counts in) in flow order; see ``unit_funnel``.
StageUnits = list[tuple[str, str]]


class ShardVerificationError(Exception):
    pass


def shard_name(unit: int) -> str:
    return f"{unit:06d}"


def sample_metadata(row: dict) -> dict:
    """What a trainer or analyst can know about a sample without opening other files."""
    return {
        "key": row["sample_key"],
        "schema_version": SCHEMA_VERSION,
        "split": row["split"],
        "pmcid": row["pmcid"],
        "version": row["version"],
        "pmid": row["pmid"],
        "doi": row["doi"],
        "title": row["title"],
        "license": row["license"],
        "license_raw": row["license_raw"],
        "license_source": row.get("license_source"),
        "figure_license": row.get("figure_license"),
        "article": {
            "type": row.get("article_type"),
            "journal": row.get("journal"),
            "year": row.get("year"),
            "subjects": row.get("subjects") or [],
            "keywords": row.get("keywords") or [],
        },
        "figure_index": row["figure_index"],
        "panel_index": row["panel_index"],
        "fig_id": row["fig_id"],
        "figure_context": row.get("figure_context"),
        "label": row["label"],
        "caption_title": row["caption_title"],
        "caption": row["caption"],
        "mentions": row["mentions"] or [],
        "mention_panels": row.get("mention_panels") or [],
        "image": {
            "width": row["image_width"],
            "height": row["image_height"],
            "source_width": row["source_width"],
            "source_height": row["source_height"],
            "source_format": row["source_format"],
            "source_frames": row["source_frames"],
            "sha256": row["image_sha256"],
        },
        "scores": {"clip": row.get("clip_score"), "clip_model": row.get("clip_model")},
        "figure_type": {
            "label": row.get("figure_type"),
            "source": row.get("figure_type_source"),
            "confidence": row.get("figure_type_confidence"),
            "clip": row.get("clip_figure_type"),
            "clip_confidence": row.get("clip_figure_type_confidence"),
        },
        "abbreviations": row.get("abbreviations") or [],
        "quality": {
            "caption_language": row.get("caption_language"),
            "caption_language_score": row.get("caption_language_score"),
            "dominant_color_fraction": row.get("dominant_color_fraction"),
        },
        "llm": llm_metadata(row),
        "hashes": {
            "pixel_sha256": row.get("pixel_sha256"),
            "phash": None if row.get("phash") is None else f"{row['phash']:016x}",
            "dedup_status": row.get("dedup_status"),
        },
        "provenance": {
            "prefix": row["source_prefix"],
            "media_key": row["media_key"],
            "media_md5": row["media_md5"],
            "media_source": row.get("media_source"),
            "pdf_key": row.get("pdf_key"),
        },
        "panel": {
            "box": row.get("panel_box"),
            "label": row.get("panel_label"),
            "parent_key": row.get("parent_key"),
            "subcaption": row.get("subcaption"),
            "alignment": row.get("alignment"),
            "alignment_detail": row.get("alignment_detail"),
            "subcaption_confidence": row.get("subcaption_confidence"),
            "split_confidence": row.get("split_confidence"),
            "split_method": row.get("split_method"),
            "boxes_found": row.get("panel_boxes"),
        },
    }


def llm_metadata(row: dict) -> dict | None:
    if not row.get("llm_model"):
        return None
    return {
        "model": row["llm_model"],
        "untrained": row.get("llm_untrained"),
        "prompt_versions": row.get("llm_prompt_versions") or [],
        "recaption": row.get("llm_recaption"),
        "judge": {"informativeness": row.get("llm_judge_informativeness"), "consistency": row.get("llm_judge_consistency")},
    }


def conversation_member(row: dict) -> dict:
    """``<key>.conv.json``: the conversation in LLaVA's form and the VQA pairs, with their provenance."""
    return {
        "conversations": json.loads(row["llm_conversation"]),
        "vqa": json.loads(row.get("llm_vqa") or "[]"),
        "prompt_versions": row.get("llm_prompt_versions") or [],
        "model": row.get("llm_model"),
    }


def sample_text(row: dict) -> str:
    """The text CLIP trains on: the panel's subcaption when it was aligned, else the full caption."""
    if row.get("panel_index") is not None and row.get("subcaption"):
        return row["subcaption"]
    return row["caption"]


def dedup_candidates(table: pa.Table) -> pa.Table:
    """``DEDUP_CANDIDATE`` rows of ``table`` (hashes, identity, length of the training text)."""
    chars = [len(sample_text(row)) for row in table.select(["panel_index", "subcaption", "caption"]).to_pylist()]
    return conform(table.append_column("caption_chars", pa.array(chars, pa.int32())), DEDUP_CANDIDATE)


def sample_members(row: dict) -> list[tuple[str, bytes]]:
    key = row["sample_key"]
    members = [
        (f"{key}.jpg", row["image"]),
        (f"{key}.txt", sample_text(row).encode("utf-8")),
        (f"{key}.json", json.dumps(sample_metadata(row), ensure_ascii=False, sort_keys=True).encode("utf-8")),
    ]
    if row.get("llm_recaption"):
        members.append((f"{key}.recap.txt", row["llm_recaption"].encode("utf-8")))
    if row.get("llm_conversation"):
        members.append((f"{key}.conv.json", json.dumps(conversation_member(row), ensure_ascii=False, sort_keys=True).encode("utf-8")))
    return members


def write_tar(path: Path, samples: list[dict]) -> None:
    write_members(path, (member for row in samples for member in sample_members(row)))


def write_members(target: Path | BinaryIO, members: Iterable[tuple[str, bytes]]) -> None:
    """A tar (a file, or written through a stream) with fixed headers (mtime, owner, mode), so the
    same members always give the same bytes (stages/io/ustar.py)."""
    with _opened(target, "wb") as file:
        ustar.write_members(file, members)


def read_samples(shard: Path | BinaryIO) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """Samples of a shard (a path, or a stream read once through) in order: (key, [(member name, bytes), ...])."""
    key, members = None, []
    for name, data in _members_of(shard):
        member_key = name.partition(".")[0]
        if member_key != key and members:
            yield key, members
            members = []
        key = member_key
        members.append((name, data))
    if members:
        yield key, members


def _members_of(shard: Path | BinaryIO) -> Iterator[tuple[str, bytes]]:
    with _opened(shard, "rb") as file:
        yield from ustar.read_members(file)


@contextmanager
def _opened(target: Path | BinaryIO, mode: str) -> Iterator[BinaryIO]:
    """A path opened in ``mode`` (and closed after), or a stream as it is (the caller's to close)."""
    if isinstance(target, (str, Path)):
        with open(target, mode) as file:
            yield file
    else:
        yield target


def verify_tar(path: Path, expected_keys: list[str]) -> None:
    """Read the tar back: every sample present once, in order, with all members, JSON that parses."""
    seen: dict[str, set[str]] = defaultdict(set)
    order: list[str] = []
    try:
        for name, data in _members_of(path):
            key, _, extension = name.partition(".")
            if extension in seen[key]:
                raise ShardVerificationError(f"{path}: repeated member {name}")
            if not order or order[-1] != key:
                order.append(key)
            seen[key].add(extension)
            if extension.endswith("json"):
                json.loads(data)
            elif not data:
                raise ShardVerificationError(f"{path}: empty member {name}")
    except ustar.TarFormatError as error:
        raise ShardVerificationError(f"{path}: {error}") from None
    if order != expected_keys:
        raise ShardVerificationError(f"{path}: holds {len(order)} samples, expected {len(expected_keys)} in order")
    required, allowed = set(MEMBER_EXTENSIONS), set(MEMBER_EXTENSIONS) | set(OPTIONAL_EXTENSIONS)
    incomplete = [key for key in order if not required <= seen[key] <= allowed]
    if incomplete:
        raise ShardVerificationError(f"{path}: samples missing members or holding unknown ones: {incomplete[:3]}")


def drops_by_reason(funnel: dict[str, dict]) -> dict[str, int]:
    """A funnel's drops summed over its stages, by reason (sorted)."""
    drops: dict[str, int] = defaultdict(int)
    for stage in funnel.values():
        for reason, n in stage["dropped"].items():
            drops[reason] += n
    return dict(sorted(drops.items()))


def unit_funnel(rows: list[dict], stage_units: StageUnits, samples_written: int) -> dict[str, dict]:
    """Per-stage in/out/dropped counts of one unit, from its final records.

    Every stage emits at least one record per input (an output or a reject), so a stage's "out"
    is the number of distinct units (articles or figures) among records it did not drop, and its
    "in" is the previous stage's "out".
    """
    order = {name: position for position, (name, _) in enumerate(stage_units)}

    def key(row: dict, unit: str) -> tuple:
        if unit == "article":
            return (row["pmcid"], row["version"])
        if unit == "panel":  # a figure kept whole counts as one panel (panel_index null)
            return (row["pmcid"], row["version"], row["figure_index"], row["panel_index"])
        return (row["pmcid"], row["version"], row["figure_index"])

    funnel: dict[str, dict] = {}
    previous_out = len({(row["pmcid"], row["version"]) for row in rows})
    for position, (name, unit) in enumerate(stage_units):
        survivors = {key(row, unit) for row in rows if row["drop_stage"] is None or order.get(row["drop_stage"], -1) > position}
        dropped: dict[str, int] = defaultdict(int)
        for row in rows:
            if row["drop_stage"] == name:
                dropped[row["drop_reason"]] += 1
        funnel[name] = {"unit": unit, "in": previous_out, "out": len(survivors), "dropped": dict(sorted(dropped.items()))}
        previous_out = len(survivors)
    funnel["shard_writer"] = {"unit": "sample", "in": previous_out, "out": samples_written, "dropped": {}}
    return funnel


def write_unit(group: pa.Table, *, output: OutputTarget, stage_units: StageUnits, fingerprint: str, splits: dict[str, float]) -> pa.Table:
    """Publish one unit's shard and sidecars from all its records, return its summary row (pipeline/unit_writes.py).

    Order matters: the shard (verified before it is published), then the index,
    embeddings and rejects parts, and last the unit record that marks the unit done.
    """
    location = output.open()
    unit = int(group.column("work_unit")[0].as_py())
    name = shard_name(unit)
    live_mask = pc.is_null(group.column("drop_reason"))
    live = group.filter(live_mask).sort_by("sample_key")
    live = live.append_column("split", pa.array([split_of(p, splits) for p in live.column("pmcid").to_pylist()], pa.string()))
    samples = live.to_pylist()
    rejects = rejects_table(group.filter(pc.invert(live_mask)))

    with location.staging() as staging:
        shard = staging / f"{name}.tar"
        write_tar(shard, samples)
        verify_tar(shard, [row["sample_key"] for row in samples])
        shard_bytes, shard_sha256 = shard.stat().st_size, file_hexdigest(shard, "sha256")
        location.publish(f"shards/{name}.tar", shard, keep_identical=True)
        parts = {"index": index_part(live, f"{name}.tar")}
        if "image_embedding" in live.column_names and live.column("image_embedding").null_count < live.num_rows:
            parts["embeddings"] = conform(live, EMBEDDINGS)
        parts["rejects"] = rejects
        if "dedup_status" in group.column_names and group.column("dedup_status").null_count < group.num_rows:
            parts["hashes"] = dedup_candidates(group.filter(pc.is_valid(group.column("dedup_status")))).sort_by("sample_key")
        for folder, table in parts.items():
            pq.write_table(table, staging / f"{folder}.parquet")
            location.publish(f"{folder}/{name}.parquet", staging / f"{folder}.parquet")

    status_rows = group.select(["pmcid", "version", "figure_index", "panel_index", "drop_stage", "drop_reason"]).to_pylist()
    articles = sorted({ArticleVersion(int(row["pmcid"][3:]), row["version"]) for row in status_rows})
    record = {
        "unit": unit,
        "fingerprint": fingerprint,
        "articles": len(articles),
        "articles_sha256": articles_sha256(articles),
        "shard": f"{name}.tar",
        "samples": len(samples),
        "rejects": rejects.num_rows,
        "bytes": shard_bytes,
        "sha256": shard_sha256,
        "retracted": retracted_in(group),
        "funnel": unit_funnel(status_rows, stage_units, len(samples)),
        "eval_overlap": eval_overlap_counts(group),
    }
    location.write_bytes(f"units/{name}.json", json.dumps(record, indent=1).encode())
    return pa.table({"unit": [unit], "samples": [len(samples)], "rejects": [rejects.num_rows], "drops": [json.dumps(drops_by_reason(record["funnel"]))]})


def index_part(live: pa.Table, shard: str) -> pa.Table:
    """The index rows of one shard's samples (``live``, with their split): the INDEX columns and the shard's name."""
    return conform(live.append_column("shard", pa.array([shard] * live.num_rows, pa.string())), INDEX)


def eval_overlap_counts(group: pa.Table) -> dict[str, int]:
    """Samples dropped for overlapping each evaluation set (decontamination)."""
    if "eval_set" not in group.column_names:
        return {}
    sets = group.filter(pc.equal(group.column("drop_reason"), "eval_overlap")).column("eval_set").to_pylist()
    return {name: sets.count(name) for name in sorted(set(sets))}


def retracted_in(group: pa.Table) -> list[list]:
    """Article versions of the unit whose metadata says retracted (kept or dropped), for trainers to remove."""
    if "is_retracted" not in group.column_names:
        return []
    rows = group.select(["pmcid", "version", "is_retracted", "drop_reason"]).to_pylist()
    found = {(r["pmcid"], r["version"]) for r in rows if r["is_retracted"] or r["drop_reason"] == "retracted_excluded"}
    return [list(item) for item in sorted(found, key=lambda k: (int(k[0][3:]), k[1]))]


def rejects_table(dropped: pa.Table) -> pa.Table:
    rows = dropped.to_pylist()
    keys = [row["sample_key"] or article_key(row["pmcid"], row["version"]) for row in rows]
    table = pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "stage": dropped.column("drop_stage"),
            "reason": dropped.column("drop_reason"),
            "detail": dropped.column("drop_detail"),
        }
    )
    for column in ("pmcid", "version", "figure_index", "panel_index", "source_prefix"):
        table = table.append_column(column, dropped.column(column))
    return conform(table.sort_by("key"), REJECT)
