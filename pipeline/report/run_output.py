"""What the report reads of a run's output folder: stats, the run's config, and the index and
rejects Parquet parts as DuckDB views (``samples``, ``rejects``), so that a run of millions of
samples is aggregated by DuckDB without loading its index into memory.

A finished run has ``stats.json``; a run still in progress (or stopped) has only the records of
its finished units, whose funnels are merged the way the runner merges them at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.errors import OperatorError
from pipeline.stats import merge_units
from schemas.records import INDEX, REJECT
from stages.output_location import LocalOutput, read_json

# A sample's figure: its parent for a panel, itself for a figure kept whole.
FIGURE_KEY = "coalesce(parent_key, sample_key)"


class ReportError(OperatorError):
    """The folder cannot be reported on (not a figcurate output, or unreadable)."""


@dataclass
class RunOutput:
    root: Path
    stats: dict
    finished: bool
    run_info: dict
    database: duckdb.DuckDBPyConnection | None = None

    def rows(self, sql: str, parameters: list | None = None) -> list[dict]:
        return self.database.sql(sql, params=parameters or None).to_arrow_table().to_pylist()

    def scalar(self, sql: str, parameters: list | None = None):
        return self.database.sql(sql, params=parameters or None).fetchall()[0][0]

    @property
    def name(self) -> str:
        return (self.run_info.get("config") or {}).get("name") or self.stats.get("run", {}).get("name") or self.root.name

    def shard_path(self, shard: str) -> Path:
        return self.root / "shards" / shard

    def _local_source(self, relative: str | None) -> Path | None:
        source = (self.run_info.get("config") or {}).get("source") or {}
        if not relative or source.get("kind") != "local" or not source.get("root"):
            return None
        root = Path(source["root"]).resolve()
        path = (root / relative).resolve()
        return path if path.is_relative_to(root) else None

    def source_file(self, relative: str | None) -> Path | None:
        """The file at ``relative`` in a local source's folder, when the run read one and it is still there."""
        path = self._local_source(relative)
        return path if path is not None and path.is_file() else None

    def source_folder(self, prefix: str | None) -> Path | None:
        path = self._local_source(prefix)
        return path if path is not None and path.is_dir() else None


def _view(database: duckdb.DuckDBPyConnection, name: str, folder: Path, schema: pa.Schema) -> None:
    parts = sorted(str(path) for path in folder.glob("*.parquet"))
    if parts:
        database.read_parquet(parts, union_by_name=True).create_view(name)
    else:
        database.register(name, schema.empty_table())


def load_run_output(root: Path) -> RunOutput:
    root = Path(root)
    if str(root).startswith("s3:"):
        raise ReportError("reads a local output; copy an s3:// output first (aws s3 sync s3://... DIR)")
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder")
    location = LocalOutput(root)
    run_info = read_json(location, "run.json")
    if not isinstance(run_info, dict) or "fingerprint" not in run_info:
        raise ReportError(f"{root} is not a figcurate output (no readable run.json)")
    stats = read_json(location, "stats.json")
    finished = stats is not None
    if stats is None:
        units = [read_json(location, f"units/{path.name}") for path in sorted((root / "units").glob("*.json"))]
        stats = merge_units([unit for unit in units if unit is not None])
    database = duckdb.connect()
    try:
        _view(database, "samples", root / "index", INDEX)
        _view(database, "rejects", root / "rejects", REJECT)
    except duckdb.Error as error:
        raise ReportError(f"{root}: the index or rejects parts cannot be read ({error})") from None
    return RunOutput(root=root, stats=stats, finished=finished, run_info=run_info, database=database)
