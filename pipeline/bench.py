"""``figcurate bench``: measured figures of the parts that decide a run's speed.

Speed targets live here, never in timed tests. Each bench prints one JSON object.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from stages.shard_writer import verify_tar, write_tar


def _sample_rows(n: int, side: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pixels = (rng.random((side, side, 3)) * 255).astype("uint8")
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        rows.append(
            {
                "sample_key": f"PMC{1000 + i}v1-f001", "split": "train", "pmcid": f"PMC{1000 + i}", "version": 1,
                "pmid": None, "doi": None, "title": "t", "license": "CC BY", "license_raw": "CC BY", "figure_index": 1,
                "panel_index": None, "fig_id": "F1", "label": "Figure 1", "caption_title": None,
                "caption": "A caption of moderate length describing panels A and B. " * 4, "mentions": ["Figure 1 shows it."],
                "image_width": side, "image_height": side, "source_width": side, "source_height": side,
                "source_format": "JPEG", "source_frames": 1, "image_sha256": "0" * 64, "source_prefix": "p",
                "media_key": "k", "media_md5": None, "image": buffer.getvalue(),
            }
        )  # fmt: skip
    return rows


def bench_shards(samples: int = 2000, side: int = 512, repeats: int = 3, directory: Path | None = None) -> dict:
    """Shard write throughput and the cost of read-back verification, as a share of write time."""
    rows = _sample_rows(samples, side, seed=0)
    keys = [row["sample_key"] for row in rows]
    write_s, verify_s, size = [], [], 0
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "bench.tar"
        for _ in range(repeats):
            started = time.perf_counter()
            write_tar(path, rows)
            write_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            verify_tar(path, keys)
            verify_s.append(time.perf_counter() - started)
            size = path.stat().st_size
    write, verify = min(write_s), min(verify_s)
    return {
        "bench": "shards",
        "samples": samples,
        "shard_bytes": size,
        "shard_mb": round(size / 1e6, 1),
        "write_mb_per_s": round(size / 1e6 / write, 1),
        "verify_mb_per_s": round(size / 1e6 / verify, 1),
        "verify_share_of_write": round(verify / write, 3),
        "samples_per_s_written": round(samples / write, 1),
    }


BENCHES = {"shards": bench_shards}


def main(name: str, **options) -> int:
    print(json.dumps(BENCHES[name](**options), indent=2))
    return 0
