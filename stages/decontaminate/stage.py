"""Stage ``decontaminate``: drop samples that overlap an operator's evaluation sets (``eval_overlap``).

A sample goes when its image is, or is near, an evaluation image (same normalised pixels, or a
perceptual hash within ``hamming_threshold`` bits as dedup measures it), or when its caption or
subcaption shares ``ngram_words`` consecutive words with an evaluation question (shorter
questions count whole, from ``min_question_words``). The detail names the set and the item or
question; ``eval_set`` keeps the set's name, and the stats count the drops per set. The index of
the evaluation sets is built once on the driver and shared with every worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import ray.data
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.records import CURATED
from stages.decontaminate.eval_sets import EvalIndex, build_index
from stages.dedup.stage import with_image_hashes
from stages.runtime.base import Row, StageSpec
from stages.runtime.context import StageContext
from stages.runtime.global_stage import GlobalStage

log = logging.getLogger(__name__)


class EvalSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="the set's name in drop details and stats")
    images: Path | None = Field(None, description="a folder of images (recursive) or a Parquet file with an image column")
    questions: Path | None = Field(None, description="question texts: .txt (one a line), .jsonl (question field) or .parquet")

    @field_validator("images", "questions")
    @classmethod
    def _exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.exists():
            raise ValueError(f"path does not exist: {path}")
        return path

    @field_validator("questions")
    @classmethod
    def _question_format(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix not in (".txt", ".jsonl", ".parquet"):
            raise ValueError(f"questions must be a .txt, .jsonl or .parquet file: {path}")
        return path

    @model_validator(mode="after")
    def _something(self) -> EvalSet:
        if self.images is None and self.questions is None:
            raise ValueError(f"evaluation set {self.name!r} needs images, questions or both")
        return self


class DecontaminateSpec(StageSpec):
    enabled: bool = False
    eval_sets: list[EvalSet] = Field(default_factory=list, description="the evaluation sets to keep out of the data")
    hamming_threshold: int = Field(
        6, ge=0, le=32, description="bits an image's perceptual hash may differ from an evaluation image's; wider than "
        "dedup's 4 on purpose: a leaked evaluation image costs more than a look-alike training image",
    )
    ngram_words: int = Field(8, ge=3, description="consecutive words a caption must share with a question to overlap it")
    min_question_words: int = Field(5, ge=1, description="shorter questions are ignored; up to ngram_words they must appear whole")

    @model_validator(mode="after")
    def _sets_when_enabled(self) -> DecontaminateSpec:
        if self.enabled and not self.eval_sets:
            raise ValueError("decontaminate is enabled but lists no eval_sets")
        if len({s.name for s in self.eval_sets}) != len(self.eval_sets):
            raise ValueError("evaluation set names must be unique")
        return self


class Decontaminate(GlobalStage):
    """Per batch: each live row is checked against the evaluation-set index (``self.value``)."""

    name = "decontaminate"
    spec_type = DecontaminateSpec
    output_schema = CURATED

    @classmethod
    def companions(cls, spec: StageSpec) -> list[tuple[str, StageSpec]]:
        return with_image_hashes(spec)

    def process(self, row: Row) -> Iterable[Row]:
        index: EvalIndex = self.value
        match = None
        if row.get("phash_probes"):
            match = index.image_match(row["pixel_sha256"], row["phash_probes"], self.spec.hamming_threshold)
        for text in (row.get("caption"), row.get("subcaption")):
            if match is None and text:
                match = index.text_match(text)
        if match is None:
            yield row
            return
        eval_set, detail = match
        yield self.dropped({**row, "eval_set": eval_set}, "eval_overlap", f"eval set {eval_set}: {detail}")

    @classmethod
    def decide(
        cls, dataset: ray.data.Dataset, spec: DecontaminateSpec, context: StageContext, *, config, dedup_references: pa.Table | None
    ) -> tuple[ray.data.Dataset, EvalIndex]:
        index = build_index(spec.eval_sets, config.stage_spec("images"), spec.ngram_words, spec.min_question_words)
        log.info(
            "decontaminate: %d evaluation images, %d question n-grams from %d sets (unreadable images skipped: %s)",
            len(index.item_names), len(index.ngrams), len(spec.eval_sets), index.skipped or "none",
        )  # fmt: skip
        return dataset, index
