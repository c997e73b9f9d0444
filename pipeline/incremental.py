"""Incremental runs: what a run consumed, what changed since, and which versions are now retracted.

``consumed.parquet`` lists every version a run covers, with the ETag and last-modified time of
its metadata JSON. A run ``--since PREVIOUS`` processes only versions that are new or whose ETag
differs (PMC rewrites the metadata JSON whenever any file of a version changes, since it holds
their md5s), and its own ``consumed.parquet`` carries forward the previous entries, so a chain of
incremental runs needs only the newest output.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import OperatorError
from stages.io.output_location import read_parquet
from stages.io.source_local import ArticleVersion

CONSUMED = "consumed.parquet"
RETRACTED = "retracted.json"

CONSUMED_SCHEMA = pa.schema(
    [
        pa.field("pmcid", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("metadata_key", pa.string(), nullable=False),
        pa.field("etag", pa.string()),
        pa.field("last_modified", pa.string()),
        pa.field("processed", pa.bool_(), nullable=False),  # true: processed by this run; false: carried forward
    ]
)


class IncrementalError(OperatorError):
    pass


def load_consumed(previous_output) -> dict[tuple[str, int], dict]:
    """The versions a finished run's output (a LocalOutput or S3Output) consumed, by (pmcid, version)."""
    table = read_parquet(previous_output, CONSUMED)
    if table is None:
        raise IncrementalError(f"--since {previous_output}: no {CONSUMED} there (is it the output of a finished run?)")
    return {(row["pmcid"], row["version"]): row for row in table.to_pylist()}


def changed_since(versions: list[ArticleVersion], consumed: dict[tuple[str, int], dict]) -> list[ArticleVersion]:
    """Versions that are new, or whose ETag differs from (or is missing in) the previous run's."""
    changed = []
    for version in versions:
        before = consumed.get((version.pmcid, version.version))
        if before is None or not version.etag or before["etag"] != version.etag:
            changed.append(version)
    return changed


def write_consumed(output, processed: list[ArticleVersion], previous: dict[tuple[str, int], dict] | None = None) -> None:
    """Write ``consumed.parquet`` into an output location (a LocalOutput or S3Output)."""
    rows = {key: {**row, "processed": False} for key, row in (previous or {}).items()}
    for version in processed:
        rows[(version.pmcid, version.version)] = {
            "pmcid": version.pmcid,
            "version": version.version,
            "metadata_key": f"metadata/{version.prefix}.json",
            "etag": version.etag,
            "last_modified": version.last_modified,
            "processed": True,
        }
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (int(k[0][3:]), k[1]))]
    with output.staging() as staging:
        pq.write_table(pa.Table.from_pylist(ordered, schema=CONSUMED_SCHEMA), staging / CONSUMED)
        output.publish(CONSUMED, staging / CONSUMED)
