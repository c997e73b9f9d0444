"""``figcurate bench``: measured figures of the parts that decide a run's speed.

Speed targets live here, never in timed tests. Each bench returns plain dicts the CLI prints as JSON.

- ``fetch``: objects/s and MB/s of S3Store reads against a loopback S3 server, at several
  concurrency levels (the server is moto on 127.0.0.1, so the figures are an upper bound for one
  process and say nothing about AWS latency);
- ``shards``: shard write throughput and the cost of read-back verification.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from stages.shard_writer import verify_tar, write_tar

BUCKET = "bench"


def bench_fetch(objects: int = 200, size_kb: int = 64, concurrency: tuple[int, ...] = (1, 8)) -> list[dict]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit("figcurate bench fetch needs moto[server] (pip install 'figcurate[test]')") from None
    import socket

    import boto3
    from botocore.config import Config

    from stages.s3_store import S3Store

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        admin = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                             aws_secret_access_key="bench", config=Config(s3={"addressing_style": "path"}))  # fmt: skip
        admin.create_bucket(Bucket=BUCKET)
        public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        admin.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]}))
        payload = os.urandom(size_kb * 1024)
        keys = [f"PMC{n}.1/PMC{n}.1-g001.jpg" for n in range(objects)]
        for key in keys:
            admin.put_object(Bucket=BUCKET, Key=key, Body=payload)
        store = S3Store(BUCKET, endpoint_url=endpoint)  # unsigned, as against PMC
        store.read(keys[0])  # warm the connection pool
        results = []
        for workers in concurrency:
            started = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                total = sum(len(data) for data in pool.map(store.read, keys))
            seconds = time.perf_counter() - started
            results.append({"concurrency": workers, "objects": objects, "object_kb": size_kb, "seconds": round(seconds, 3),
                            "objects_per_s": round(objects / seconds, 1), "mb_per_s": round(total / seconds / 1e6, 2)})  # fmt: skip
        return results
    finally:
        server.stop()


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
