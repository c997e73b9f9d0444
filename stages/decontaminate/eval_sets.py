"""Evaluation sets an operator wants kept out of the training data, and the index samples are checked against.

An evaluation set is a folder of images (searched recursively), or a Parquet file with an
``image`` column of encoded bytes (and optionally ``id``), plus optionally its question texts: a
``.txt`` file (one question a line), a ``.jsonl`` file of objects with ``question``, or a Parquet
file with a ``question`` column. Every image is normalised exactly as the ``images`` stage
normalises a sample (so a figure that *is* an evaluation image has the very same pixels), then
hashed as ``image_hashes`` hashes samples.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from stages.dedup.hashing import hamming, pixel_sha256, probe_hashes
from stages.images.stage import ImagesSpec, decode_image, normalise
from stages.runtime.base import Drop

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".bmp", ".webp"}
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def read_images(path: Path) -> Iterator[tuple[str, bytes]]:
    """(item name, encoded bytes) of an evaluation set's images."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
            yield str(file.relative_to(path)), file.read_bytes()
        return
    table = pq.read_table(path)
    ids = table.column("id").to_pylist() if "id" in table.column_names else [f"row {n}" for n in range(table.num_rows)]
    for name, data in zip(ids, table.column("image").to_pylist()):
        yield str(name), data


def read_questions(path: Path) -> list[str]:
    if path.suffix == ".txt":
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in pq.read_table(path, columns=["question"]).column("question").to_pylist() if q]


@dataclass
class EvalIndex:
    """Hashes and question n-grams of every evaluation item, small enough to send to each worker."""

    item_names: list[str] = field(default_factory=list)  # "<set>/<item>"
    item_sets: list[str] = field(default_factory=list)
    pixel_hashes: dict[str, int] = field(default_factory=dict)  # pixel sha256 -> item
    plain: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    probes: np.ndarray = field(default_factory=lambda: np.empty((0, 0), np.uint64))
    ngrams: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)  # words -> (set, question)
    ngram_lengths: tuple[int, ...] = ()  # the lengths present in ngrams, longest first
    skipped: dict[str, int] = field(default_factory=dict)  # unreadable images per set

    def image_match(self, pixel_sha: str, sample_probes: list[int], threshold: int) -> tuple[str, str] | None:
        """(set, what matched) for a sample image that is, or is near, an evaluation image."""
        item = self.pixel_hashes.get(pixel_sha)
        if item is not None:
            return self.item_sets[item], f"same pixels as {self.item_names[item]}"
        if not len(self.plain):
            return None
        probes = np.array(sample_probes, np.uint64)
        # As in dedup: any hash of one against the plain hash of the other, never probe against probe.
        sample_side = hamming(probes[:, None], self.plain[None, :]).min(axis=0)
        eval_side = hamming(self.probes, probes[0]).min(axis=1)
        distances = np.minimum(sample_side, eval_side)
        item = int(np.argmin(distances))
        if distances[item] <= threshold:
            return self.item_sets[item], f"{int(distances[item])} bits from {self.item_names[item]}"
        return None

    def text_match(self, text: str) -> tuple[str, str] | None:
        """(set, what matched) for a text that shares a question's n-gram."""
        tokens = words(text)
        for length in self.ngram_lengths:
            for start in range(len(tokens) - length + 1):
                found = self.ngrams.get(tuple(tokens[start : start + length]))
                if found is not None:
                    return found[0], f"shares '{' '.join(tokens[start:start + length])}' with question '{found[1][:120]}'"
        return None


def build_index(eval_sets: list, images_spec: ImagesSpec, ngram_words: int, min_question_words: int) -> EvalIndex:
    """Hash every image and cut every question of the configured sets (done once, on the driver)."""
    index = EvalIndex()
    plain, probes = [], []
    for eval_set in eval_sets:
        if eval_set.images is not None:
            for name, data in read_images(eval_set.images):
                try:
                    decoded, *_ = decode_image(data, images_spec.max_pixels, target_side=images_spec.max_side)
                    _, encoded = normalise(decoded, images_spec)
                    with Image.open(io.BytesIO(encoded)) as image:
                        image.load()
                        hashes, sha = probe_hashes(image), pixel_sha256(image)
                except Drop as error:
                    index.skipped[eval_set.name] = index.skipped.get(eval_set.name, 0) + 1
                    log.warning("evaluation set %s: %s is not a usable image (%s)", eval_set.name, name, error.reason)
                    continue
                index.pixel_hashes.setdefault(sha, len(index.item_names))
                index.item_names.append(f"{eval_set.name}/{name}")
                index.item_sets.append(eval_set.name)
                plain.append(hashes[0])
                probes.append(hashes)
        if eval_set.questions is not None:
            for question in read_questions(eval_set.questions):
                tokens = words(question)
                if len(tokens) < min_question_words:
                    continue
                length = min(ngram_words, len(tokens))
                for start in range(len(tokens) - length + 1):
                    index.ngrams.setdefault(tuple(tokens[start : start + length]), (eval_set.name, question))
    index.ngram_lengths = tuple(sorted({len(gram) for gram in index.ngrams}, reverse=True))
    index.plain = np.array(plain, np.uint64)
    index.probes = np.array(probes, np.uint64) if probes else np.empty((0, 0), np.uint64)
    return index
