"""The runs an incremental run follows, and what of them it must weigh.

A run ``--since PREVIOUS`` follows PREVIOUS and, through PREVIOUS's own ``--since``, every run
before it: the chain, newest first (``stats.json`` records each link). Two things carry across:

- **Supersession.** A run that processes any version of an article replaces every sample of that
  article in the runs before it (the new version's samples, or none when it has no figures left).
  The run lists those earlier keys in ``superseded.json``.
- **Cross-run dedup.** The chain's current samples (in an index, of an article no newer run of the
  chain processed, of no version reported retracted) take part in the run's dedup as references,
  as a resumed run's finished units do: a new sample that duplicates one is dropped with that
  sample's key in its detail, by the same priority rule as within a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.incremental import CONSUMED, RETRACTED
from schemas.records import DEDUP_CANDIDATE, conform
from stages.io.output_location import LocalOutput, S3Output, open_location, read_json, read_parquet

Output = LocalOutput | S3Output

SUPERSEDED = "superseded.json"
DISPLACED = "displaced.json"
MAX_CHAIN = 1000  # links followed before the chain is taken to loop


@dataclass(frozen=True)
class EarlierRun:
    output: Output
    samples: pa.Table  # sample_key, pmcid, version of its current samples
    processed: frozenset[str]  # PMCIDs this run processed (any version)


class History:
    """The chain behind a ``--since`` run, read before the new run touches any output."""

    def __init__(self, runs: list[EarlierRun], retracted: set[tuple[str, int]]):
        self.runs, self.retracted = runs, retracted

    @classmethod
    def read(cls, previous: Output, endpoint_url: str | None = None, signed: bool = True) -> History:
        runs, retracted, later_processed, later_displaced = [], set(), set(), set()
        for output in chain_of(previous, endpoint_url, signed):
            index = _index(output)
            current = index.filter(pc.invert(pc.is_in(index.column("pmcid"), value_set=pa.array(sorted(later_processed), pa.string()))))
            gone = pa.array(sorted(key for run, key in later_displaced if run == str(output)), pa.string())
            current = current.filter(pc.invert(pc.is_in(current.column("sample_key"), value_set=gone)))
            processed = frozenset(processed_pmcids(output))
            runs.append(EarlierRun(output, current, processed))
            later_processed |= processed
            later_displaced |= displaced_samples(output).keys()
            retracted |= retracted_versions(output)
        return cls(runs, retracted)

    def current(self, processed_now: set[str]) -> list[tuple[EarlierRun, pa.Table]]:
        """Each run's samples still current after this run processes ``processed_now``, retracted versions left out."""
        gone = pa.array(sorted(processed_now), pa.string())
        out = []
        for run in self.runs:
            samples = run.samples.filter(pc.invert(pc.is_in(run.samples.column("pmcid"), value_set=gone)))
            if self.retracted:
                keep = [(p, v) not in self.retracted for p, v in zip(samples.column("pmcid").to_pylist(), samples.column("version").to_pylist())]
                samples = samples.filter(pa.array(keep, pa.bool_()))
            out.append((run, samples))
        return out

    def superseded(self, processed_now: set[str]) -> list[dict]:
        """The chain's current samples of the articles this run processes: what its samples replace."""
        gone = pa.array(sorted(processed_now), pa.string())
        entries = []
        for run in self.runs:
            hit = run.samples.filter(pc.is_in(run.samples.column("pmcid"), value_set=gone))
            entries += [{"sample_key": row["sample_key"], "pmcid": row["pmcid"], "version": row["version"], "run": str(run.output)} for row in hit.to_pylist()]
        return sorted(entries, key=lambda e: e["sample_key"])

    def displaced(self, processed_now: set[str], decisions: pa.Table | None) -> list[dict]:
        """The chain's current samples that this run's dedup ``decisions`` (its ``displaced/`` parts) displaced:
        a new sample beat them by the priority rule, so the view leaves them out."""
        if decisions is None:
            return []
        decided = {row["sample_key"]: row for row in decisions.to_pylist()}
        keys = pa.array(sorted(decided), pa.string())
        entries = []
        for run, samples in self.current(processed_now):
            for row in samples.filter(pc.is_in(samples.column("sample_key"), value_set=keys)).to_pylist():
                decision = decided[row["sample_key"]]
                entries.append({**row, "run": str(run.output), "reason": decision["reason"], "winner_key": decision["winner_key"]})
        return sorted(entries, key=lambda e: e["sample_key"])

    def references(self, processed_now: set[str]) -> pa.Table | None:
        """The hashes of the chain's current samples, as dedup references (``DEDUP_CANDIDATE``)."""
        tables = []
        for run, samples in self.current(processed_now):
            keys = pa.array(samples.column("sample_key").to_pylist(), pa.string())
            for part in run.output.list("hashes"):
                hashes = conform(read_parquet(run.output, f"hashes/{part}"), DEDUP_CANDIDATE)
                tables.append(hashes.filter(pc.is_in(hashes.column("sample_key"), value_set=keys)))
        tables = [table for table in tables if table.num_rows]
        return pa.concat_tables(tables) if tables else None


def chain_of(previous: Output, endpoint_url: str | None = None, signed: bool = True) -> list[Output]:
    """``previous`` and the runs it followed, newest first. A link is a local folder or an
    ``s3://`` URI, read at ``endpoint_url``."""
    chain: list[Output] = []
    current: Output | None = previous
    while current is not None and len(chain) < MAX_CHAIN:
        if str(current) in {str(run) for run in chain}:
            break
        chain.append(current)
        link = ((read_json(current, "stats.json") or {}).get("source") or {}).get("since")
        current = open_location(link, endpoint_url, signed) if link else None
    return chain


def processed_pmcids(output: Output) -> set[str]:
    """The articles a run processed (any version), from its ``consumed.parquet``."""
    rows = read_parquet(output, CONSUMED, columns=["pmcid", "processed"]).to_pylist()
    return {row["pmcid"] for row in rows if row["processed"]}


def retracted_versions(output: Output) -> set[tuple[str, int]]:
    """The (pmcid, version) a run reported retracted, from its ``retracted.json``."""
    return {(item["pmcid"], int(item["version"])) for item in read_json(output, RETRACTED) or []}


def displaced_samples(output: Output) -> dict[tuple[str, str], dict]:
    """(earlier run, sample key) -> its entry, for the samples of earlier runs a run displaced (``displaced.json``)."""
    return {(item["run"], item["sample_key"]): item for item in read_json(output, DISPLACED) or []}


def parquet_parts(output: Output, folder: str, columns: list[str] | None = None) -> pa.Table | None:
    """The Parquet parts in ``folder`` of an output, as one table (None when there are none)."""
    parts = [read_parquet(output, f"{folder}/{name}", columns) for name in output.list(folder) if name.endswith(".parquet")]
    return pa.concat_tables(parts) if parts else None


def _index(output: Output) -> pa.Table:
    index = parquet_parts(output, "index", ["sample_key", "pmcid", "version"])
    if index is None:
        return pa.table({"sample_key": pa.array([], pa.string()), "pmcid": pa.array([], pa.string()), "version": pa.array([], pa.int32())})
    return index
