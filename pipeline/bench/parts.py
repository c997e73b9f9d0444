"""``figcurate bench``: measured figures of the parts that decide a run's speed.

Speed targets live here, never in timed tests. Each bench returns plain dicts the CLI prints as JSON.

- ``fetch``: objects/s and MB/s of S3Store reads against a loopback S3 server, at several
  concurrency levels (the server is moto on 127.0.0.1, so the figures are an upper bound for one
  process and say nothing about AWS latency);
- ``shards``: shard write throughput and the cost of read-back verification;
- ``dedup``: the run-wide dedup's hashes/s and peak memory at several sizes on local Ray, and
  the per-core cost of hashing an image.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

import numpy as np
from PIL import Image

from stages.io.shard_writer import verify_tar, write_tar

BUCKET = "bench"


def bench_fetch(objects: int = 200, size_kb: int = 64, concurrency: tuple[int, ...] = (1, 8)) -> list[dict]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit("figcurate bench fetch needs moto[server] (pip install 'figcurate[test]')") from None
    import socket

    import boto3
    from botocore.config import Config

    from stages.io.s3_store import S3Store

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server logs every request at INFO
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


def bench_dedup(sizes: tuple[int, ...] = (100_000,), duplicate_share: float = 0.1, seed: int = 0) -> list[dict]:
    """Run-wide dedup on local Ray over synthetic candidates with planted exact and near copies.

    Hashes are random 64-bit values (11 per sample, as image_hashes makes), which spread evenly over
    the LSH buckets; real pHashes cluster more, so real runs compare more pairs per bucket. The
    candidates are written as Parquet parts and read by Ray, so the driver never holds them.
    Memory is sampled every 0.2 s over the driver and all its child processes (Ray's workers and
    object store included).
    """
    import psutil
    import pyarrow.compute as pc
    import ray

    from schemas.records import DEDUP_CANDIDATE
    from stages.dedup.distributed import find_duplicates_distributed, partitions_for

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            _write_candidates(Path(folder), size, duplicate_share, np.random.default_rng(seed), DEDUP_CANDIDATE)
            with PeakMemory(psutil.Process()) as peaks:
                started = time.perf_counter()
                candidates = ray.data.read_parquet(folder)
                decisions = find_duplicates_distributed(
                    candidates, DEDUP_CANDIDATE.empty_table(), keep="first", threshold=6, bands=4, partitions=partitions_for(size), local_limit=0
                )
                seconds = time.perf_counter() - started
            reasons = pc.value_counts(decisions.column("reason")).to_pylist() if decisions.num_rows else []
            results.append({
                "hashes": size,
                "seconds": round(seconds, 2),
                "hashes_per_s": round(size / seconds),
                "partitions": partitions_for(size),
                "duplicates_found": {item["values"]: item["counts"] for item in reasons},
                "duplicates_planted": int(size * duplicate_share),
                "peak_rss_all_processes_mb": round(peaks.all / 2**20),
                "peak_rss_driver_mb": round(peaks.root / 2**20),
                "input_mb": round(sum(p.stat().st_size for p in Path(folder).glob("*.parquet")) / 2**20, 1),
                "cpus": int(ray.cluster_resources().get("CPU", 0)),
            })  # fmt: skip
    return results


class PeakMemory:
    """Peak resident memory of a process (``root``) and of it with all its descendants (``all``, above
    the ``baseline`` they held at the start), sampled every ``every_s`` seconds while the block runs;
    with ``private``, also the tree's peak private memory (USS: what each process alone holds; the
    Ray object store's shared pages, which every worker that touches them counts in its RSS, left out).
    Private memory is read every ``private_every`` samples only: the kernel walks each process's page
    tables for it, about 40 ms of CPU a sample over a run's processes (8% of a core at 0.5 s, taken
    from the run being measured), against 2 ms for RSS."""

    def __init__(self, process, every_s: float = 0.2, private: bool = False, private_every: int = 4):
        self.process, self.every_s, self.with_private, self.private_every = process, every_s, private, private_every
        self.all = self.root = self.private = 0

    def __enter__(self) -> Self:
        import threading

        self.baseline = _tree_rss(self.process)
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._sampler.join()

    def _sample(self) -> None:
        for count in itertools.count():
            if self._done.is_set():
                return
            self.all = max(self.all, _tree_rss(self.process) - self.baseline)
            if self.with_private and count % self.private_every == 0:
                self.private = max(self.private, _tree_rss(self.process, private=True))
            try:
                self.root = max(self.root, self.process.memory_info().rss)
            except Exception:  # noqa: BLE001 - the process ended while being sampled
                return
            time.sleep(self.every_s)


def _tree_rss(process, private: bool = False) -> int:
    """RSS (or private memory) of ``process`` and its descendants; 0 once it has ended."""
    try:
        members = [process, *process.children(recursive=True)]
    except Exception:  # noqa: BLE001 - the tree's root ended while being sampled (psutil.NoSuchProcess)
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_full_info().uss if private else member.memory_info().rss
        except Exception:  # noqa: BLE001 - a worker that exits while being sampled
            continue
    return total


def _write_candidates(folder: Path, size: int, duplicate_share: float, rng: np.random.Generator, schema) -> None:
    """``size`` candidate rows in Parquet parts of 50,000; a share of them copies of other rows, half exact and
    half with one bit of the plain hash flipped. Sources are never copies themselves, so each copy makes
    exactly one loser."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    probes = rng.integers(0, 2**63, size=(size, 11), dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    shas = np.arange(size).astype(str).astype(object)
    copies = rng.choice(size, size=int(size * duplicate_share), replace=False)
    originals = np.setdiff1d(np.arange(size), copies)
    sources = originals[rng.integers(0, len(originals), size=len(copies))]
    exact = copies[: len(copies) // 2]
    probes[exact] = probes[sources[: len(exact)]]
    shas[exact] = shas[sources[: len(exact)]]
    near = copies[len(copies) // 2 :]
    flips = np.uint64(1) << rng.integers(0, 64, size=len(near)).astype(np.uint64)
    probes[near, 0] = probes[sources[len(exact) :], 0] ^ flips
    for start in range(0, size, 50_000):
        rows = np.arange(start, min(size, start + 50_000))
        table = pa.table(
            {
                "sample_key": [f"PMC{n + 1}v1-f001" for n in rows],
                "pmcid": [f"PMC{n + 1}" for n in rows],
                "version": np.ones(len(rows), np.int32),
                "figure_index": np.ones(len(rows), np.int32),
                "panel_index": pa.nulls(len(rows), pa.int32()),
                "caption_chars": np.full(len(rows), 100, np.int32),
                "pixel_sha256": shas[rows].tolist(),
                "phash": probes[rows, 0],
                "phash_probes": pa.FixedSizeListArray.from_arrays(pa.array(probes[rows].ravel()), 11).cast(pa.list_(pa.uint64())),
            },
            schema=schema,
        )
        pq.write_table(table, folder / f"part-{start // 50_000:05d}.parquet")


def bench_image_hashes(images: int = 200) -> dict:
    """image_hashes' cost per sample on one core: pixel sha256 and 11 pHashes of generated figures."""
    import random

    from pipeline.demo_corpus.figures import draw_figure, plan_figure
    from stages.dedup.hashing import pixel_sha256, probe_hashes

    figures = [draw_figure(plan_figure(random.Random(seed), (seed,))).convert("RGB") for seed in range(images)]
    started = time.perf_counter()
    for figure in figures:
        pixel_sha256(figure)
        probe_hashes(figure)
    seconds = time.perf_counter() - started
    return {"images": images, "mean_side": round(float(np.mean([max(f.size) for f in figures]))), "images_per_s_per_core": round(images / seconds, 1)}
