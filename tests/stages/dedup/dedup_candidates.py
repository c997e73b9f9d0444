"""Build dedup candidate tables from hashes or from generated images."""

from __future__ import annotations

import io
import random

import pyarrow as pa
from PIL import Image

from pipeline.demo_corpus.figures import draw_figure, plan_figure
from schemas.keys import sample_key
from schemas.records import DEDUP_CANDIDATE
from stages.dedup.hashing import pixel_sha256, probe_hashes


def candidate(number: int, figure: int = 1, panel: int | None = None, *, probes: list[int], sha: str | None = None, chars: int = 40, version: int = 1) -> dict:
    return {
        "sample_key": sample_key(f"PMC{number}", version, figure, panel),
        "pmcid": f"PMC{number}",
        "version": version,
        "figure_index": figure,
        "panel_index": panel,
        "caption_chars": chars,
        "pixel_sha256": sha or f"sha-{number}-{figure}-{panel}-{version}",
        "phash": probes[0],
        "phash_probes": probes,
    }


def image_candidate(number: int, image: Image.Image, figure: int = 1, **kwargs) -> dict:
    return candidate(number, figure, probes=probe_hashes(image), sha=pixel_sha256(image), **kwargs)


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=DEDUP_CANDIDATE)


def generated_figure(seed: int) -> Image.Image:
    return draw_figure(plan_figure(random.Random(seed), (seed,))).convert("RGB")


def reencoded(image: Image.Image, quality: int = 60) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def cropped(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(left * w), round(top * h), w - round(right * w), h - round(bottom * h)))
