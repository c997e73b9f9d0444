"""Subsets of a finished output without rewriting it, and physical reshards when a trainer wants them.

``make_subset`` runs an SQL condition over the Parquet index (DuckDB, with external access
switched off once the index is loaded) and writes ``subsets/<name>/keys.parquet`` and
``subset.json`` (condition, counts, the shards that hold the keys). ``subset_dataset`` streams
just those samples with webdataset; ``reshard`` copies them into new verified shards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipeline.errors import OperatorError
from pipeline.manifest import finished_manifest
from stages.io.output_location import LocalOutput, write_json
from stages.io.shard_writer import (
    read_samples,
    verify_tar,
    write_members,
)
from stages.io.storage import file_hexdigest

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SubsetError(OperatorError):
    pass


def make_subset(output: Path, where: str, name: str) -> dict:
    import duckdb

    if not _NAME.match(name):
        raise SubsetError(f"subset name {name!r}: use 1-64 letters, digits, _ or -")
    if ";" in where:
        raise SubsetError("the condition must be one SQL expression (no ';')")
    manifest = finished_manifest(output)
    index = pads.dataset(output / "index", format="parquet").to_table()
    connection = duckdb.connect()
    connection.register("samples", index)
    connection.execute("SET enable_external_access = false")
    try:
        query = f"SELECT sample_key, shard FROM samples WHERE {where} ORDER BY sample_key"
        selected = connection.execute(query).to_arrow_table()
    except duckdb.Error as error:
        raise SubsetError(f"condition {where!r} failed: {error}") from None
    location = LocalOutput(output)
    with location.staging() as staging:
        pq.write_table(selected, staging / "keys.parquet")
        location.publish(f"subsets/{name}/keys.parquet", staging / "keys.parquet")
    counts: dict[str, int] = {}
    for shard in selected.column("shard").to_pylist():
        counts[shard] = counts.get(shard, 0) + 1
    info = {
        "name": name,
        "where": where,
        "samples": selected.num_rows,
        "of_samples": index.num_rows,
        "source_fingerprint": manifest["fingerprint"],
        "shards": dict(sorted(counts.items())),
    }
    write_json(location, f"subsets/{name}/subset.json", info)
    return info


def _subset_info(output: Path, name: str) -> tuple[dict, set[str]]:
    folder = output / "subsets" / name
    if not (folder / "subset.json").is_file():
        raise SubsetError(f"no subset {name!r} in {output} (make it with `figcurate subset`)")
    info = json.loads((folder / "subset.json").read_text())
    keys = set(pq.read_table(folder / "keys.parquet", columns=["sample_key"]).column("sample_key").to_pylist())
    return info, keys


def subset_dataset(output: str | Path, name: str, **webdataset_options):
    """A ``webdataset.WebDataset`` over only the shards that hold the subset, yielding only its samples."""
    import webdataset as wds

    output = Path(output)
    info, keys = _subset_info(output, name)
    urls = [str(output / "shards" / shard) for shard in info["shards"]]
    return wds.WebDataset(urls, **webdataset_options).select(lambda sample: sample["__key__"] in keys)


def reshard(output: Path, name: str, destination: Path, samples_per_shard: int) -> dict:
    """Copy a subset's samples, in key order, into new verified shards under ``destination/shards``."""
    info, keys = _subset_info(output, name)
    if samples_per_shard < 1:
        raise SubsetError("samples per shard must be at least 1")
    shards_dir = destination / "shards"
    if shards_dir.exists() and any(shards_dir.iterdir()):
        raise SubsetError(f"{shards_dir} is not empty")
    samples = sorted(
        (key, members)
        for shard in info["shards"]
        for key, members in read_samples(output / "shards" / shard)
        if key in keys
    )
    written = write_samples(samples, destination, samples_per_shard)
    result = {"subset": name, "from": str(output), "samples": len(samples), "shards": written}
    write_json(LocalOutput(destination), "manifest.json", result)
    return result


def write_samples(
    samples: Iterable[tuple[str, list]], destination: Path, samples_per_shard: int, index: dict[str, dict] | None = None, index_schema: pa.Schema | None = None
) -> list[dict]:
    """Samples (key, members) into new verified shards under ``destination/shards``, ``samples_per_shard``
    each, with ``shards/sizes.json``; with ``index`` (key -> its index row, filled while ``samples``
    is read) and its schema, each shard's rows in ``destination/index`` too. The shards' manifest entries."""
    target = LocalOutput(destination)
    written: list[dict] = []
    chunk: list[tuple[str, list]] = []

    def flush(staging: Path) -> None:
        shard = staging / f"{len(written):06d}.tar"
        write_members(shard, (member for _, members in chunk for member in members))
        verify_tar(shard, [key for key, _ in chunk])
        written.append({"name": shard.name, "samples": len(chunk), "bytes": shard.stat().st_size, "sha256": file_hexdigest(shard)})
        target.publish(f"shards/{shard.name}", shard)
        if index is not None:
            part = staging / shard.name.replace(".tar", ".parquet")
            pq.write_table(pa.Table.from_pylist([index[key] for key, _ in chunk], schema=index_schema), part)
            target.publish(f"index/{part.name}", part)
        chunk.clear()

    with target.staging() as staging:
        for sample in samples:
            chunk.append(sample)
            if len(chunk) == samples_per_shard:
                flush(staging)
        if chunk:
            flush(staging)
    write_json(target, "shards/sizes.json", {entry["name"]: entry["samples"] for entry in written})
    return written
