"""``figcurate view create``: one current dataset over a full run and the incremental runs after it.

A view is a small folder that rewrites no shard: ``view.json`` (the runs, oldest first; every
shard by absolute path with the samples it still holds; totals and excluded counts by reason),
``excluded.parquet`` (each excluded key, its run, why, and the run that excluded it) and
``sizes.json`` (shard path -> current samples, the count webdataset trainers ask for). A sample of
a run is excluded when a newer run of the view processed its article again (``superseded``: the
newer run's samples, or their absence, replace it) or any run reports its version retracted
(``retracted``). Cross-run duplicates never reach a later run's shards (its dedup weighs the
earlier runs: ``history.py``). ``view_samples`` gives a trainer the shard paths and the excluded
(shard, key) pairs to stream the view with any webdataset pipeline.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import OperatorError
from pipeline.history import chain_of, processed_pmcids, retracted_versions
from pipeline.incremental import CONSUMED

EXCLUDED_SCHEMA = pa.schema(
    [pa.field("shard", pa.string()), pa.field("sample_key", pa.string()), pa.field("run", pa.string()), pa.field("reason", pa.string()),
     pa.field("by", pa.string())]
)  # fmt: skip


class ViewError(OperatorError):
    pass


def runs_of(newest: Path) -> list[Path]:
    """The chain ending at ``newest`` (``--since`` links), oldest first."""
    return list(reversed(chain_of(Path(newest))))


def create_view(dest: Path, runs: list[Path]) -> dict:
    """Write the view of ``runs`` (oldest first) into ``dest``; its ``view.json`` content."""
    runs = [Path(run).resolve() for run in runs]
    for run in runs:
        if not (run / "manifest.json").is_file() or not (run / CONSUMED).is_file():
            raise ViewError(f"{run}: not a finished run's output (no manifest.json or {CONSUMED})")
    processed = [processed_pmcids(run) for run in runs]
    retracted = set().union(*(retracted_versions(run) for run in runs))
    shards, excluded = [], []
    for position, run in enumerate(runs):
        for entry in json.loads((run / "manifest.json").read_text())["shards"]:
            url = str(run / "shards" / entry["name"])
            index = pq.read_table(index_of(url), columns=["sample_key", "pmcid", "version"])
            dropped = 0
            for row in index.to_pylist():
                why = _excluded(row, position, runs, processed, retracted)
                if why:
                    excluded.append({"shard": url, "sample_key": row["sample_key"], "run": str(run), "reason": why[0], "by": why[1]})
                    dropped += 1
            shards.append({"url": url, "run": str(run), "samples": entry["samples"] - dropped, "excluded": dropped})
    reasons: dict[str, int] = {}
    for item in excluded:
        reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
    view = {
        "runs": [str(run) for run in runs],
        "samples": sum(shard["samples"] for shard in shards),
        "excluded": reasons,
        "shards": shards,
    }
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(excluded, schema=EXCLUDED_SCHEMA), dest / "excluded.parquet")
    (dest / "sizes.json").write_text(json.dumps({shard["url"]: shard["samples"] for shard in shards}, indent=2))
    (dest / "view.json").write_text(json.dumps(view, indent=2))
    return view


def view_samples(view: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """(shard paths, excluded (shard path, key) pairs) of a view: stream the shards, skip the pairs.
    By shard and key, since a version processed again has the same keys in a newer run."""
    described = json.loads((Path(view) / "view.json").read_text())
    table = pq.read_table(Path(view) / "excluded.parquet", columns=["shard", "sample_key"])
    return [shard["url"] for shard in described["shards"]], set(zip(table.column("shard").to_pylist(), table.column("sample_key").to_pylist()))


def index_of(shard: str | Path) -> Path:
    """The index part beside a run's shard: ``RUN/shards/N.tar`` -> ``RUN/index/N.parquet``."""
    shard = Path(shard)
    return shard.parent.parent / "index" / shard.name.replace(".tar", ".parquet")


def _excluded(row: dict, position: int, runs: list[Path], processed: list[set[str]], retracted: set) -> tuple[str, str] | None:
    for newer in range(position + 1, len(runs)):
        if row["pmcid"] in processed[newer]:
            return "superseded", str(runs[newer])
    if (row["pmcid"], row["version"]) in retracted:
        return "retracted", ""
    return None


def reshard_view(view: Path, dest: Path, samples_per_shard: int = 5000) -> dict:
    """Compact a view into fresh shards in ``dest``: its current samples, members as they were, in
    the view's order, with their index rows and a run-style ``manifest.json``, so ``figcurate
    verify DEST`` and the index queries work on it as on a run."""
    from pipeline.manifest import manifest
    from pipeline.subsets import write_samples
    from stages.shard_writer import read_samples

    if samples_per_shard < 1:
        raise ViewError("samples per shard must be at least 1")
    if (Path(dest) / "manifest.json").exists():
        raise ViewError(f"{dest} already holds a dataset; give an empty folder")
    urls, excluded = view_samples(view)
    index: dict[str, dict] = {}
    # the newest run's index schema holds every column (older runs' rows get nulls for new ones)
    schema = pq.read_schema(index_of(urls[-1])) if urls else None

    def current():
        for url in urls:
            rows = {row["sample_key"]: row for row in pq.read_table(index_of(url)).to_pylist()}
            for key, members in read_samples(Path(url)):
                if (url, key) not in excluded:
                    index[key] = rows[key]
                    yield key, members

    written = write_samples(current(), Path(dest), samples_per_shard, index, schema)
    records = [{"shard": entry["name"], "unit": number, **entry} for number, entry in enumerate(written)]
    fingerprint = hashlib.sha256((Path(view) / "view.json").read_bytes()).hexdigest()[:16]
    (Path(dest) / "manifest.json").write_text(json.dumps(manifest(f"view:{fingerprint}", records), indent=2))
    return {"samples": sum(entry["samples"] for entry in written), "shards": len(written)}


def view_index(view: Path, connection=None):
    """The view's current index rows as one DuckDB relation (every run's index, less the excluded
    samples by index file and key), for the same queries a run's index takes."""
    import duckdb

    connection = connection or duckdb.connect()
    described = json.loads((Path(view) / "view.json").read_text())
    files = [str(index_of(shard["url"])) for shard in described["shards"]]
    if not files:
        raise ViewError(f"{view}: the view holds no shards")
    excluded = str(Path(view) / "excluded.parquet")
    return connection.sql(
        f"""SELECT * EXCLUDE (filename) FROM read_parquet({files!r}, union_by_name = true, filename = true)
        WHERE (filename, sample_key) NOT IN (
            SELECT (replace(replace(shard, '/shards/', '/index/'), '.tar', '.parquet'), sample_key) FROM read_parquet('{excluded}'))"""
    )
