"""Deterministic work units and the fingerprint that says whether a finished unit can be reused.

The source's sorted article versions are cut into units of ``output.articles_per_shard``; unit
``n`` always holds the same articles for the same input, and becomes ``shards/<n>.tar``. A unit
is done when its record ``units/<n>.json`` exists (written last, after its shard, index and
rejects) and names the same fingerprint and the same articles; a rerun skips done units.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version as package_version

from pipeline.config import RunConfig
from schemas.records import SCHEMA_VERSION
from stages.io.output_location import LocalOutput, S3Output, read_json
from stages.io.shard_writer import shard_name
from stages.io.source_local import ArticleVersion, articles_sha256

OutputLocation = LocalOutput | S3Output

# Spec fields that change how fast a stage runs, never what it writes.
RESOURCE_FIELDS = {"num_cpus", "num_gpus", "batch_size", "concurrency"}


@dataclass(frozen=True)
class WorkUnit:
    index: int
    articles: tuple[ArticleVersion, ...]

    @property
    def articles_sha256(self) -> str:
        return articles_sha256(self.articles)


def split_units(articles: list[ArticleVersion], articles_per_unit: int) -> list[WorkUnit]:
    return [
        WorkUnit(start // articles_per_unit, tuple(articles[start : start + articles_per_unit]))
        for start in range(0, len(articles), articles_per_unit)
    ]


def fingerprint_inputs(config: RunConfig) -> dict:
    """Everything in a run that decides its output bytes (not where it goes or how fast it runs)."""
    stages = {}
    for name in type(config.stages).model_fields:
        spec = config.stage_spec(name)
        if spec.enabled:
            stages[name] = spec.model_dump(mode="json", exclude=RESOURCE_FIELDS | {"enabled"})
    return {
        "figcurate": package_version("figcurate"),
        "schema_version": SCHEMA_VERSION,
        "source": config.source.model_dump(mode="json"),
        # windows decide when units are written, never what (the dedup of a window weighs every earlier one)
        "output": config.output.model_dump(mode="json", exclude={"path", "endpoint_url", "signed", "window_units"}),
        "stages": stages,
    }


def fingerprint(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def read_unit_record(location: OutputLocation, index: int) -> dict | None:
    return read_json(location, f"units/{shard_name(index)}.json")


def is_done(unit: WorkUnit, run_fingerprint: str, record: dict | None, location: OutputLocation) -> bool:
    """Whether ``record`` (the unit's ``units/<n>.json``, None when absent) marks this unit finished by this run."""
    if record is None or record.get("fingerprint") != run_fingerprint or record.get("articles_sha256") != unit.articles_sha256:
        return False
    return location.size(f"shards/{record['shard']}") == record["bytes"]
