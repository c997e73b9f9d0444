"""``figcurate export llava OUT DEST``: LLaVA's training JSON and an image folder from a finished run.

LLaVA reads one JSON list of ``{"id", "image", "conversations": [{"from": "human", "value":
"<image>\\n..."}, {"from": "gpt", "value": ...}]}`` with ``image`` relative to an image folder
(its ``--image_folder``). Every sample the llm stage gave a conversation becomes one record; each
of its VQA pairs and its recaption can become records of their own (``kinds``). Images are
copied out of the shards, so the export needs nothing but the output folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as pads

from pipeline.errors import OperatorError
from pipeline.manifest import finished_manifest
from stages.io.output_location import LocalOutput
from stages.io.shard_writer import read_samples
from stages.llm.outputs import IMAGE_TOKEN

KINDS = ("conversation", "vqa", "caption")
# The instruction of a recaption record (LLaVA's own caption data asks in this way).
CAPTION_QUESTION = "Describe the figure in detail."
IMAGE_FOLDER = "images"


class ExportError(OperatorError):
    pass


def llava_records(row: dict, image: str, kinds: tuple[str, ...]) -> list[dict]:
    """The LLaVA records of one index row; ``image`` is its path relative to the export folder."""
    key, records = row["sample_key"], []
    if "conversation" in kinds and row.get("llm_conversation"):
        records.append({"id": key, "image": image, "conversations": json.loads(row["llm_conversation"])})
    if "vqa" in kinds and row.get("llm_vqa"):
        for number, pair in enumerate(json.loads(row["llm_vqa"]), start=1):
            turns = [{"from": "human", "value": f"{IMAGE_TOKEN}\n{pair['question']}"}, {"from": "gpt", "value": pair["answer"]}]
            records.append({"id": f"{key}-vqa{number}", "image": image, "conversations": turns})
    if "caption" in kinds and row.get("llm_recaption"):
        turns = [{"from": "human", "value": f"{IMAGE_TOKEN}\n{CAPTION_QUESTION}"}, {"from": "gpt", "value": row["llm_recaption"]}]
        records.append({"id": f"{key}-caption", "image": image, "conversations": turns})
    return records


def export_llava(output: Path, destination: Path, kinds: tuple[str, ...] = KINDS, name: str = "llava.json") -> dict:
    """Write ``DEST/images/<key>.jpg`` and ``DEST/<name>``; returns counts."""
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ExportError(f"kinds must be among {', '.join(KINDS)} (got {', '.join(kinds) or 'none'})")
    finished_manifest(output)
    if (destination / name).exists():
        raise ExportError(f"{destination / name} exists; export into an empty folder")
    columns = ["sample_key", "shard", "llm_conversation", "llm_vqa", "llm_recaption"]
    index = pads.dataset(output / "index", format="parquet")
    if "llm_conversation" not in index.schema.names:
        raise ExportError(f"{output} was written without the llm stage: nothing to export")
    rows = sorted(index.to_table(columns=columns).to_pylist(), key=lambda row: row["sample_key"])
    wanted = {row["sample_key"]: row for row in rows if llava_records(row, "", kinds)}
    if not wanted:
        raise ExportError(f"{output}: no sample has an llm conversation, VQA pair or recaption")
    target = LocalOutput(destination)
    records = []
    for shard in sorted({row["shard"] for row in wanted.values()}):
        for key, members in read_samples(output / "shards" / shard):
            if key in wanted:
                image = f"{IMAGE_FOLDER}/{key}.jpg"
                target.write_bytes(image, dict(members)[f"{key}.jpg"])
                records += llava_records(wanted[key], image, kinds)
    records.sort(key=lambda record: record["id"])
    target.write_bytes(name, json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8"))  # last: the export is complete
    return {"records": len(records), "images": len(wanted), "json": str(destination / name), "image_folder": str(destination / IMAGE_FOLDER)}
