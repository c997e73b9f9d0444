"""The run's manifest and ``figcurate verify``: every shard checked against what was recorded.

``units/<n>.json`` is the durable per-unit log (written last by each unit's writer);
``manifest.json`` is the consolidated list the driver writes at the end of a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.errors import OperatorError
from stages.io.shard_writer import ShardVerificationError, verify_tar
from stages.io.storage import file_hexdigest


class UnfinishedOutput(OperatorError):
    pass


def finished_manifest(output: Path) -> dict:
    """The manifest of a finished run, for the commands that start from one (subset, export)."""
    path = output / "manifest.json"
    if not path.is_file():
        raise UnfinishedOutput(f"{output} has no manifest.json: finish the run first")
    return json.loads(path.read_text())


def manifest(run_fingerprint: str, records: list[dict]) -> dict:
    shards = [
        {"name": r["shard"], "samples": r["samples"], "bytes": r["bytes"], "sha256": r["sha256"], "units": [r["unit"]]}
        for r in sorted(records, key=lambda r: r["unit"])
    ]
    return {"fingerprint": run_fingerprint, "samples": sum(s["samples"] for s in shards), "shards": shards}


def verify_output(output: Path) -> list[str]:
    """Problems found in ``output`` (empty when every shard matches the manifest and its index)."""
    manifest_path = output / "manifest.json"
    if not manifest_path.is_file():
        return [f"{manifest_path}: missing (the run did not finish; rerun it to complete)"]
    manifest = json.loads(manifest_path.read_text())
    problems = []
    listed = {entry["name"] for entry in manifest["shards"]}
    for stray in sorted(p.name for p in (output / "shards").glob("*.tar") if p.name not in listed):
        problems.append(f"shards/{stray}: not in the manifest")
    for entry in manifest["shards"]:
        shard = output / "shards" / entry["name"]
        if not shard.is_file():
            problems.append(f"shards/{entry['name']}: missing")
            continue
        if shard.stat().st_size != entry["bytes"] or file_hexdigest(shard, "sha256") != entry["sha256"]:
            problems.append(f"shards/{entry['name']}: size or sha256 differs from the manifest (truncated or modified)")
            continue
        index_part = output / "index" / entry["name"].replace(".tar", ".parquet")
        keys = pq.read_table(index_part, columns=["sample_key"]).column("sample_key").to_pylist() if index_part.is_file() else None
        if keys is None or len(keys) != entry["samples"]:
            problems.append(f"index/{index_part.name}: missing or not {entry['samples']} rows")
            continue
        try:
            verify_tar(shard, keys)
        except (ShardVerificationError, OSError, ValueError) as error:
            problems.append(f"shards/{entry['name']}: {error}")
    return problems
