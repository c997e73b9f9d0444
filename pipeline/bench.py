"""``figcurate bench fetch``: objects/s and MB/s of S3Store reads against a loopback S3 server.

Measures the client side of fetching (boto3, retries layer, size checks) at several concurrency
levels; the server is moto on 127.0.0.1, so the figures are an upper bound for one process and
say nothing about AWS latency.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

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
