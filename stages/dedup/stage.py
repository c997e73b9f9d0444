"""Stages ``image_hashes`` (per record) and ``dedup`` (the whole run at once).

``image_hashes`` decodes each live sample's image and adds ``pixel_sha256``, ``phash`` and
``phash_probes``; the plan inserts it ahead of the stages that need hashes. ``dedup`` is a
*global* stage: it needs every sample of the run before it can decide any, so the plan hands it
the dataset instead of a batch. It materialises the records at this point (held in Ray's object
store, spilled to disk under pressure; images stay encoded), finds the duplicates by grouping
(``distributed.py``), and marks them (a per-batch map, or the unit writers where dedup ends the
plan) dropping each loser with the winner's key in its detail. Every sample it considered gets ``dedup_status``; the shard writer keeps those
rows' hashes in ``hashes/<unit>.parquet`` so that a resumed run decides exactly as an
uninterrupted one (finished units take part as references).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray
import ray.data
from pydantic import Field

from schemas.records import CURATED, DEDUP_CANDIDATE, conform
from stages.dedup.distributed import find_duplicates_distributed
from stages.dedup.hashing import pixel_sha256, probe_hashes
from stages.images.pixels import decoded_image
from stages.io.shard_writer import dedup_candidates
from stages.runtime.base import Row, Stage, StageSpec
from stages.runtime.context import StageContext
from stages.runtime.global_stage import GlobalStage


class ImageHashesSpec(StageSpec):
    batch_size: int = 32


class ImageHashes(Stage):
    name = "image_hashes"
    spec_type = ImageHashesSpec
    output_schema = CURATED
    configurable = False
    reads = ("image",)

    def process(self, row: Row) -> Iterable[Row]:
        # The image as the shards deliver it, not the carried pixels it was encoded from: hashes
        # of earlier runs' samples stay comparable, and so do a run's decisions.
        image = decoded_image(row)
        probes = probe_hashes(image)
        yield {**row, "pixel_sha256": pixel_sha256(image), "phash": probes[0], "phash_probes": probes}


class DedupSpec(StageSpec):
    keep: Literal["first", "longest_caption"] = Field(
        "first",
        description="which of a group of duplicates stays: first (earliest article version by PMCID, then figure "
        "and panel order) or longest_caption (longest training text, then the same order)",
    )
    exact: bool = Field(True, description="drop samples whose normalised pixels equal a sample that wins (duplicate_exact)")
    near: bool = Field(True, description="drop samples whose perceptual hashes are near a sample that wins (duplicate_near)")
    hamming_threshold: int = Field(
        4, ge=0, le=32, description="bits (of 64) a hash of one image may differ from the plain hash of another and "
        "still be near; 4 measured on generated figures as catching every re-encode, 99% of resizes and 93-100% of "
        "crops up to 5%, while losing 1.7% of the demo's look-alike synthetic panels (6: 4.5%)",
    )
    bands: int = Field(
        4, ge=1, le=16, description="LSH bands each hash is split into; pairs that share no band value are never "
        "compared. More bands find more pairs beyond bands-1 bits, at a cost of more candidate pairs",
    )
    partitions: int | None = Field(None, ge=1, description="groups the work is spread over; null: about 10,000 samples each")


def with_image_hashes(spec: StageSpec) -> list[tuple[str, StageSpec]]:
    """The companion of every stage that compares images: ``image_hashes`` right before it."""
    return [("image_hashes", ImageHashesSpec(num_cpus=spec.num_cpus))]


class Dedup(GlobalStage):
    """Per batch: each considered row is marked kept or dropped by the run's decisions (``self.value``)."""

    name = "dedup"
    spec_type = DedupSpec
    output_schema = CURATED

    @classmethod
    def companions(cls, spec: StageSpec) -> list[tuple[str, StageSpec]]:
        return with_image_hashes(spec)

    @classmethod
    def unpack(cls, decisions: pa.Table) -> pa.Table:
        """The run's decisions by sample key, each with the drop detail its loser gets."""
        details = [
            f"same pixels as {winner}" if reason == "duplicate_exact" else f"{distance} bits from {winner}"
            for reason, winner, distance in zip(*(decisions.column(name).to_pylist() for name in ("reason", "winner_key", "distance")))
        ]
        return pa.table({"sample_key": decisions.column("sample_key"), "reason": decisions.column("reason"), "detail": pa.array(details, pa.string())})

    def in_batches(self, table: pa.Table) -> pa.Table:
        return self(table)  # columnar: a whole block in one call

    def process_live(self, live: pa.Table, schema: pa.Schema) -> pa.Table:
        """Marks in columns, no row turned into Python: each live row with hashes takes its decision by
        key (a loser is dropped with its winner in the detail) or ``kept``; a row without hashes
        passes as it is."""
        found = pc.index_in(live.column("sample_key"), value_set=self.value.column("sample_key"))
        considered = pc.is_valid(live.column("phash"))
        lost = pc.and_(considered, pc.is_valid(found))
        if self.value.num_rows:
            decision = self.value.take(pc.fill_null(found, 0))
            reason, detail = decision.column("reason"), decision.column("detail")
        else:
            reason = detail = pa.nulls(live.num_rows, pa.string())
        marks = {
            "dedup_status": pc.if_else(lost, reason, pc.if_else(considered, pa.scalar("kept"), live.column("dedup_status"))),
            "drop_stage": pc.if_else(lost, pa.scalar(self.name), live.column("drop_stage")),
            "drop_reason": pc.if_else(lost, reason, live.column("drop_reason")),
            "drop_detail": pc.if_else(lost, detail, live.column("drop_detail")),
        }
        for name, column in marks.items():
            live = live.set_column(live.schema.get_field_index(name), name, column.cast(live.schema.field(name).type))
        return conform(live, schema)

    @classmethod
    def decide(
        cls, dataset: ray.data.Dataset, spec: DedupSpec, context: StageContext, *, config, dedup_references: pa.Table | None
    ) -> tuple[ray.data.Dataset, pa.Table]:
        records = dataset.materialize()
        references = conform(dedup_references, DEDUP_CANDIDATE) if dedup_references is not None else DEDUP_CANDIDATE.empty_table()
        decisions = find_duplicates_distributed(
            candidates_of(records),
            references,
            keep=spec.keep,
            threshold=spec.hamming_threshold,
            bands=spec.bands,
            partitions=spec.partitions,
            exact=spec.exact,
            near=spec.near,
        )
        displaced = decisions.filter(pc.is_in(decisions.column("sample_key"), value_set=references.column("sample_key")))
        if displaced.num_rows:
            record_displaced(config.output.target().open(), displaced)
        return records, decisions


DISPLACED_PARTS = "displaced"


def record_displaced(output, displaced: pa.Table) -> None:
    """Samples of earlier runs (or finished units) that this pass's samples beat, kept for the run's
    end (``displaced.json``): named by their content, so a window done again writes the same part."""
    import hashlib

    displaced = displaced.sort_by("sample_key")
    name = hashlib.sha256("\n".join(displaced.column("sample_key").to_pylist()).encode()).hexdigest()[:16]
    with output.staging() as staging:
        pq.write_table(displaced, staging / f"{name}.parquet")
        output.publish(f"{DISPLACED_PARTS}/{name}.parquet", staging / f"{name}.parquet")


def candidate_rows(batch: pa.Table) -> pa.Table:
    """The live rows that carry hashes: what the dedup weighs."""
    return dedup_candidates(batch.filter(pc.and_(pc.is_null(batch.column("drop_reason")), pc.is_valid(batch.column("phash")))))


def candidates_of(records: ray.data.MaterializedDataset) -> ray.data.Dataset:
    """``candidate_rows`` of every stored block, one small task a block: a Ray Data map here would
    start an execution (a second or so of scheduling) for milliseconds of work."""
    return ray.data.from_arrow_refs([_candidate_block.remote(block) for block in records.to_arrow_refs()])


_candidate_block = ray.remote(candidate_rows)


