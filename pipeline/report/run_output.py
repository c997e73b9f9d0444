"""What the report reads of a run's output folder: stats, the run's config, and the index and
rejects Parquet parts as DuckDB views (``samples``, ``rejects``), so that a run of millions of
samples is aggregated by DuckDB without loading its index into memory.

A finished run has ``stats.json``; a run still in progress (or stopped) has only the records of
its finished units, whose funnels are merged the way the runner merges them at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from pipeline.errors import OperatorError
from pipeline.stats import merge_units
from pipeline.views import View, ViewError, view_index
from schemas.records import INDEX, REJECT
from stages.io.output_location import LocalOutput, read_json
from stages.io.storage import ObjectNotFound

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

    def open_shard(self, shard: str) -> BinaryIO | None:
        """The shard the index's ``shard`` column names, to read through once; None when it is gone."""
        path = self.root / "shards" / shard
        return open(path, "rb") if path.is_file() else None

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


def _view(database: duckdb.DuckDBPyConnection, name: str, parts: list[str], schema: pa.Schema) -> None:
    """``parts`` (Parquet files) as the DuckDB view ``name``; an empty one of ``schema`` where there are none."""
    if parts:
        database.read_parquet(parts, union_by_name=True).create_view(name)
    else:
        database.register(name, schema.empty_table())


@dataclass
class ViewOutput(RunOutput):
    """A view (``figcurate view create``) read like a run: its current samples, its runs' rejects and
    their funnels summed; shards are streamed from wherever its runs are (local or ``s3://``)."""

    view: View | None = None

    @property
    def name(self) -> str:
        return f"view {self.root.name}"

    def open_shard(self, shard: str) -> BinaryIO | None:
        try:
            return self.view.open_shard(shard)
        except (ViewError, OSError, ObjectNotFound):  # a shard gone or unreachable: its cards say so
            return None


def load_view_output(root: Path) -> ViewOutput:
    view = View(root)
    runs = list(view.runs.items())
    run_stats = [read_json(location, "stats.json") or {} for _, location in runs]
    stats = merge_units(
        [{"unit": n, "funnel": s.get("stages", {}), "samples": s.get("samples", 0), "rejects": s.get("rejects", 0), "bytes": s.get("shard_bytes", 0)}
         for n, s in enumerate(run_stats)]
    )  # fmt: skip
    stats["samples"] = view.described["samples"]
    stats["excluded_by_view"] = view.described["excluded"]
    versions = sum((s.get("source") or {}).get("article_versions", 0) for s in run_stats)
    stats["source"] = {"article_versions": versions, "root": f"{len(runs)} runs: {', '.join(name for name, _ in runs)}"}
    database = duckdb.connect()
    rejects = [str(view.local_file(name, f"rejects/{part}")) for name, location in runs for part in location.list("rejects") if part.endswith(".parquet")]
    try:
        view_index(root, database).create_view("samples")
        _view(database, "rejects", rejects, REJECT)
    except duckdb.Error as error:
        raise ReportError(f"{root}: the index or rejects parts of its runs cannot be read ({error})") from None
    run_info = read_json(runs[-1][1], "run.json") or {} if runs else {}
    return ViewOutput(root=Path(root), stats=stats, finished=True, run_info=run_info, database=database, view=view)


def _parts(folder: Path) -> list[str]:
    return sorted(str(path) for path in folder.glob("*.parquet"))


def load_run_output(root: Path) -> RunOutput:
    root = Path(root)
    if str(root).startswith("s3:"):
        raise ReportError("reads a local output or a view; make a view of an s3:// output (figcurate view create VIEW --runs s3://...)")
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder")
    if (root / "view.json").is_file():
        return load_view_output(root)
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
        _view(database, "samples", _parts(root / "index"), INDEX)
        _view(database, "rejects", _parts(root / "rejects"), REJECT)
    except duckdb.Error as error:
        raise ReportError(f"{root}: the index or rejects parts cannot be read ({error})") from None
    return RunOutput(root=root, stats=stats, finished=finished, run_info=run_info, database=database)
