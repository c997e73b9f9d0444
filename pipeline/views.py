"""``figcurate view create``: one current dataset over a full run and the incremental runs after it.

A view is a small folder that rewrites no shard: ``view.json`` (the runs, oldest first, local
folders or ``s3://`` outputs on one ``endpoint_url``; every shard by URL with the samples it still
holds; totals and excluded counts by reason), ``excluded.parquet`` (each excluded key, its shard,
its run, why, and the run that excluded it) and ``sizes.json`` (shard URL -> current samples, the
count webdataset trainers ask for). A sample of a run is excluded when a newer run of the view
processed its article again (``superseded``: the newer run's samples, or their absence, replace
it), when a newer run's dedup found it a duplicate of one of its own samples that wins by the
priority rule (``duplicate_exact``, ``duplicate_near``: the newer run's ``displaced.json``), or
when any run reports its version retracted (``retracted``). A new sample that duplicates an
earlier run's winning sample never reaches the newer run's shards (``history.py``).

``view_dataset`` streams the current samples (local and ``s3://`` shards alike), ``view_index`` is
the current index as one DuckDB relation, ``reshard_view`` compacts the view into fresh shards.
Index and rejects parts of ``s3://`` runs are copied once into ``VIEW/cache/`` for DuckDB.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import OperatorError
from pipeline.history import Output, chain_of, displaced_samples, processed_pmcids, retracted_versions
from pipeline.incremental import CONSUMED
from stages.io.output_location import LocalOutput, open_location, read_json, read_parquet

EXCLUDED_SCHEMA = pa.schema(
    [pa.field("shard", pa.string()), pa.field("sample_key", pa.string()), pa.field("run", pa.string()), pa.field("reason", pa.string()),
     pa.field("by", pa.string())]
)  # fmt: skip


class ViewError(OperatorError):
    pass


def runs_of(newest: Output, endpoint_url: str | None = None) -> list[Output]:
    """The chain ending at ``newest`` (``--since`` links, ``s3://`` ones at ``endpoint_url``), oldest first."""
    return list(reversed(chain_of(newest, endpoint_url)))


def create_view(dest: Path, runs: list[Output]) -> dict:
    """Write the view of ``runs`` (oldest first) into ``dest``; its ``view.json`` content."""
    for run in runs:
        if not run.exists("manifest.json") or not run.exists(CONSUMED):
            raise ViewError(f"{run}: not a finished run's output (no manifest.json or {CONSUMED})")
    processed = [processed_pmcids(run) for run in runs]
    displaced = [displaced_samples(run) for run in runs]
    retracted = set().union(*(retracted_versions(run) for run in runs))
    shards, excluded, reasons = [], [], {}
    for position, run in enumerate(runs):
        for entry in read_json(run, "manifest.json")["shards"]:
            url = run.join(f"shards/{entry['name']}")
            index = read_parquet(run, index_part(entry["name"]), columns=["sample_key", "pmcid", "version"])
            if index is None:
                raise ViewError(f"{run}: {index_part(entry['name'])} is missing (check the run with figcurate verify)")
            why, by = _exclusions(index, position, runs, processed, displaced, retracted)
            rows = index.num_rows
            out = pa.table([pa.array([url] * rows, pa.string()), index.column("sample_key"), pa.array([str(run)] * rows, pa.string()), why, by],
                           schema=EXCLUDED_SCHEMA).filter(pc.is_valid(why))  # fmt: skip
            excluded.append(out)
            for counted in pc.value_counts(out.column("reason")).to_pylist():
                reasons[counted["values"]] = reasons.get(counted["values"], 0) + counted["counts"]
            shards.append({"url": url, "run": str(run), "name": entry["name"], "samples": entry["samples"] - out.num_rows, "excluded": out.num_rows})
    endpoints = {run.endpoint_url for run in runs if not isinstance(run, LocalOutput)}
    if len(endpoints) > 1:
        raise ViewError(f"the runs' s3:// outputs are on several endpoints ({sorted(map(str, endpoints))}); a view reads one")
    view = {
        "runs": [str(run) for run in runs],
        "endpoint_url": endpoints.pop() if endpoints else None,
        "samples": sum(shard["samples"] for shard in shards),
        "excluded": reasons,
        "shards": shards,
    }
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables([EXCLUDED_SCHEMA.empty_table(), *excluded]), dest / "excluded.parquet")
    (dest / "sizes.json").write_text(json.dumps({shard["url"]: shard["samples"] for shard in shards}, indent=2))
    (dest / "view.json").write_text(json.dumps(view, indent=2))
    return view


def index_part(shard_name: str) -> str:
    """A run's index part for one of its shards: ``shards/N.tar`` -> ``index/N.parquet``."""
    return f"index/{shard_name.replace('.tar', '.parquet')}"


def _exclusions(index: pa.Table, position: int, runs: list[Output], processed: list[set[str]], displaced: list[dict], retracted: set) -> tuple[pa.Array, pa.Array]:
    """Why each sample of ``index`` (a part of ``runs[position]``) is out of the view, and which run
    put it out (null where it is current): the first newer run that processed its article again
    (``superseded``) or displaced it (a dedup reason), else a retraction. Column operations: a full
    PMC run's index is tens of millions of rows."""
    rows = index.num_rows
    reason, by = np.full(rows, None, dtype=object), np.full(rows, None, dtype=object)
    open_rows = np.ones(rows, dtype=bool)

    def assign(hit: np.ndarray, why, who: str) -> None:
        hit &= open_rows
        reason[hit] = why[hit] if isinstance(why, np.ndarray) else why
        by[hit] = who
        open_rows[hit] = False

    keys = index.column("sample_key")
    for newer in range(position + 1, len(runs)):
        assign(_member(index.column("pmcid"), processed[newer]), "superseded", str(runs[newer]))
        mine = {key: entry["reason"] for (run, key), entry in displaced[newer].items() if run == str(runs[position])}
        if mine:
            hit = _member(keys, mine)
            why = np.full(rows, None, dtype=object)
            why[hit] = [mine[key] for key in np.asarray(keys.to_pylist(), dtype=object)[hit]]
            assign(hit, why, str(runs[newer]))
    if retracted:
        versions = pc.binary_join_element_wise(index.column("pmcid"), pc.cast(index.column("version"), pa.string()), "v")
        assign(_member(versions, {f"{pmcid}v{version}" for pmcid, version in retracted}), "retracted", "")
    return pa.array(reason, pa.string()), pa.array(by, pa.string())


def _member(column, values) -> np.ndarray:
    found = pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))
    return found.to_numpy(zero_copy_only=False).astype(bool)


class View:
    """A view folder, read: its description, its runs' locations and their shards."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        if not (self.folder / "view.json").is_file():
            raise ViewError(f"{folder}: not a view (no view.json; make one with `figcurate view create`)")
        self.described = json.loads((self.folder / "view.json").read_text())
        self.runs = {run: open_location(run, self.described.get("endpoint_url")) for run in self.described["runs"]}
        self.shards = self.described["shards"]
        self._by_url = {shard["url"]: shard for shard in self.shards}

    def excluded(self) -> set[tuple[str, str]]:
        table = pq.read_table(self.folder / "excluded.parquet", columns=["shard", "sample_key"])
        return set(zip(table.column("shard").to_pylist(), table.column("sample_key").to_pylist()))

    def open_shard(self, url: str) -> BinaryIO:
        shard = self._by_url.get(url)
        if shard is None:
            raise ViewError(f"{url} is not a shard of the view {self.folder}")
        return self.runs[shard["run"]].open_stream(f"shards/{shard['name']}")

    def local_file(self, run: str, rel: str) -> Path | None:
        """A run's file as a local path: itself for a local run, a copy in ``cache/`` for an ``s3://``
        one (fetched once); None when the run has no such file."""
        location = self.runs[run]
        if isinstance(location, LocalOutput):
            path = location.root / rel
            return path if path.is_file() else None
        copy = self.folder / "cache" / hashlib.sha256(location.join(rel).encode()).hexdigest()[:24] / Path(rel).name
        if not copy.is_file():
            data = location.read_bytes(rel)
            if data is None:
                return None
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.with_suffix(".part").write_bytes(data)
            copy.with_suffix(".part").rename(copy)
        return copy


def view_samples(view: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """(shard URLs, excluded (shard URL, key) pairs) of a view: stream the shards, skip the pairs.
    By shard and key, since a version processed again has the same keys in a newer run."""
    described = View(view)
    return [shard["url"] for shard in described.shards], described.excluded()


def view_dataset(view: Path):
    """The view's current samples as a webdataset pipeline (``.decode``, ``.to_tuple``, ``.shuffle``
    ... as on ``wds.WebDataset``), shards split by node and worker; ``s3://`` shards are streamed."""
    import webdataset as wds
    from webdataset.compat import FluidInterface
    from webdataset.tariterators import group_by_keys, tar_file_expander

    described = View(view)
    excluded = described.excluded()

    def open_shards(sources):
        for source in sources:
            with described.open_shard(source["url"]) as stream:  # closed once the expander asks for the next
                yield {**source, "stream": stream}

    class ViewDataset(wds.DataPipeline, FluidInterface):
        pass

    return ViewDataset(
        wds.SimpleShardList([shard["url"] for shard in described.shards]),
        wds.split_by_node,
        wds.split_by_worker,
        open_shards,
        tar_file_expander,
        group_by_keys,
        wds.select(lambda sample: (sample["__url__"], sample["__key__"]) not in excluded),
    )


def write_current(view: Path, url: str, out: BinaryIO) -> int:
    """The current samples of one of the view's shards as a tar stream into ``out`` (members as
    they are); how many. Behind ``pipe_urls``: loaders that cannot skip samples read the view."""
    from stages.io.shard_writer import read_samples, write_members

    described = View(view)
    excluded = described.excluded()
    written = 0

    def current():
        nonlocal written
        with described.open_shard(url) as stream:
            for key, members in read_samples(stream):
                if (url, key) not in excluded:
                    written += 1
                    yield from members

    write_members(out, current())
    return written


def pipe_urls(view: Path) -> list[str]:
    """``pipe:`` URLs, one per shard of the view, each streaming that shard's current samples
    (``figcurate view cat``): for open_clip's ``--train-data`` (joined by ``::``) and any loader
    that takes URLs but cannot skip samples; ``view.json``'s ``samples`` is their count."""
    import shlex
    import sys

    folder = str(Path(view).resolve())
    command = [sys.executable, "-m", "pipeline.cli", "view", "cat", folder]
    return [f"pipe:{shlex.join([*command, shard['url']])}" for shard in View(view).shards]


def reshard_view(view: Path, dest: Path, samples_per_shard: int = 5000) -> dict:
    """Compact a view into fresh shards in ``dest``: its current samples, members as they were, in
    the view's order, with their index rows and a run-style ``manifest.json``, so ``figcurate
    verify DEST`` and the index queries work on it as on a run."""
    from pipeline.manifest import manifest
    from pipeline.subsets import write_samples
    from stages.io.shard_writer import read_samples

    if samples_per_shard < 1:
        raise ViewError("samples per shard must be at least 1")
    if (Path(dest) / "manifest.json").exists():
        raise ViewError(f"{dest} already holds a dataset; give an empty folder")
    described = View(view)
    excluded = described.excluded()
    index: dict[str, dict] = {}
    shards = described.shards
    # the newest run's index schema holds every column (older runs' rows get nulls for new ones)
    schema = read_parquet(described.runs[shards[-1]["run"]], index_part(shards[-1]["name"])).schema if shards else None

    def current():
        for shard in shards:
            rows = {row["sample_key"]: row for row in read_parquet(described.runs[shard["run"]], index_part(shard["name"])).to_pylist()}
            with described.open_shard(shard["url"]) as stream:
                for key, members in read_samples(stream):
                    if (shard["url"], key) not in excluded:
                        index[key] = rows[key]
                        yield key, members

    written = write_samples(current(), Path(dest), samples_per_shard, index, schema)
    records = [{"shard": entry["name"], "unit": number, **entry} for number, entry in enumerate(written)]
    fingerprint = hashlib.sha256((Path(view) / "view.json").read_bytes()).hexdigest()[:16]
    (Path(dest) / "manifest.json").write_text(json.dumps(manifest(f"view:{fingerprint}", records), indent=2))
    return {"samples": sum(entry["samples"] for entry in written), "shards": len(written)}


def view_index(view: Path, connection=None):
    """The view's current index rows as one DuckDB relation (every run's index, less the excluded
    samples), for the same queries a run's index takes. ``shard`` holds the shard's URL: a name
    alone is ambiguous across runs."""
    import duckdb

    connection = connection or duckdb.connect()
    described = View(view)
    parts = [(str(described.local_file(shard["run"], index_part(shard["name"]))), shard["url"]) for shard in described.shards]
    if not parts:
        raise ViewError(f"{view}: the view holds no shards")
    shards = f"view_shards_{hashlib.sha256(str(described.folder.resolve()).encode()).hexdigest()[:12]}"
    connection.register(shards, pa.table({"index_file": [part for part, _ in parts], "url": [url for _, url in parts]}))
    excluded = str(described.folder / "excluded.parquet")
    return connection.sql(
        f"""SELECT * EXCLUDE (filename, index_file, url, shard), url AS shard
        FROM read_parquet({[part for part, _ in parts]!r}, union_by_name = true, filename = true) JOIN {shards} ON filename = index_file
        WHERE (url, sample_key) NOT IN (SELECT (shard, sample_key) FROM read_parquet('{excluded}'))"""
    )
