"""A real S3 endpoint on loopback for tests: moto in server mode, filled in PMC's exact layout.

Also a small fault-injecting HTTP proxy that sits in front of it, and the real articles of
../shared/realdata written into the per-version layout.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "pmc"
# Real articles as (pmcid number, extracted folder, license code their XML states).
REAL_ARTICLES = [
    (10802347, "pubmed-client/extracted/PMC10802347", "CC BY-NC-ND"),
    (11518443, "stencila/extracted/PMC11518443", "CC BY-NC"),
    (12419688, "stencila/extracted/PMC12419688", "CC BY"),
]
INVENTORY_STAMP = "2026-05-02T01-00Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_client(endpoint: str):
    """A signed client with dummy credentials (only the test's own uploads use it)."""
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def create_public_bucket(client, bucket: str) -> None:
    """A bucket anyone may read and list without signing, like pmc-oa-opendata."""
    client.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        ],
    }
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def upload_corpus(client, bucket: str, root: Path) -> int:
    """Every file of a demo corpus under its relative key (the generator's bookkeeping left out)."""
    count = 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith("truth/") and relative != "corpus.json":
            client.put_object(Bucket=bucket, Key=relative, Body=path.read_bytes())
            count += 1
    return count


def metadata_json(pmcid: int, version: int, xml: bytes, media: dict[str, bytes], license_code: str, **flags) -> bytes:
    folder = f"PMC{pmcid}.{version}"
    url = lambda name, data: f"s3://pmc-oa-opendata/{folder}/{name}?md5={md5(data)}"  # noqa: E731
    meta = {
        "pmcid": f"PMC{pmcid}", "version": version, "pmid": None, "doi": None, "title": f"Real article PMC{pmcid}",
        "citation": None, "is_pmc_openaccess": True, "is_manuscript": False, "is_historical_ocr": False,
        "is_retracted": False, "license_code": license_code, "xml_url": url(f"{folder}.xml", xml), "pdf_url": None,
        "media_urls": [url(name, data) for name, data in sorted(media.items())], "text_url": None, **flags,
    }  # fmt: skip
    return json.dumps(meta).encode()


def put_version(client, bucket: str, pmcid: int, version: int, xml: bytes, media: dict[str, bytes], license_code: str, **flags) -> None:
    folder = f"PMC{pmcid}.{version}"
    client.put_object(Bucket=bucket, Key=f"{folder}/{folder}.xml", Body=xml)
    for name, data in media.items():
        client.put_object(Bucket=bucket, Key=f"{folder}/{name}", Body=data)
    meta = metadata_json(pmcid, version, xml, media, license_code, **flags)
    client.put_object(Bucket=bucket, Key=f"{folder}/{folder}.json", Body=meta)
    client.put_object(Bucket=bucket, Key=f"metadata/{folder}.json", Body=meta)


def upload_realdata(client, bucket: str) -> list[int]:
    """The real extracted packages as version 1 in the per-version layout; returns their PMCID numbers."""
    loaded = []
    for pmcid, folder, license_code in REAL_ARTICLES:
        files = sorted((REALDATA / folder).iterdir())
        xml = next(p for p in files if p.suffix == ".nxml").read_bytes()
        media = {p.name: p.read_bytes() for p in files if p.suffix != ".nxml"}
        put_version(client, bucket, pmcid, 1, xml, media, license_code)
        loaded.append(pmcid)
    return loaded


def write_inventory(client, bucket: str, stamp: str = INVENTORY_STAMP, files: int = 2) -> str:
    """An S3 Inventory report of the bucket's metadata/*.json keys, as S3 writes it; returns the manifest key."""
    listed = [item for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="metadata/") for item in page.get("Contents", [])]
    root = f"inventory-reports/{bucket}/metadata"
    entries = []
    for part in range(files):
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL)
        for item in listed[part::files]:
            writer.writerow([bucket, item["Key"], item["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"), item["ETag"].strip('"')])
        data = gzip.compress(text.getvalue().encode())
        key = f"{root}/data/part-{stamp}-{part}.csv.gz"
        client.put_object(Bucket=bucket, Key=key, Body=data)
        entries.append({"key": key, "size": len(data), "MD5checksum": md5(data)})
    manifest = {"sourceBucket": bucket, "destinationBucket": f"arn:aws:s3:::{bucket}", "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, LastModifiedDate, ETag", "files": entries}  # fmt: skip
    key = f"{root}/{stamp}/manifest.json"
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return key


class FaultProxy:
    """HTTP proxy in front of an S3 endpoint that fails chosen requests.

    ``rules`` maps a substring of the request path to (fault, times): fault is ``"slowdown"``
    (503 SlowDown), ``"500"`` (InternalError) or ``"hang"`` (no answer for ``hang_s``); times is
    how many matching requests fail before the rest pass (-1: all of them).
    """

    def __init__(self, upstream: str, hang_s: float = 2.0):
        self.upstream = upstream.removeprefix("http://")
        self.rules: dict[str, tuple[str, int]] = {}
        self.hits: Counter[str] = Counter()
        self.signed_requests = 0
        self.requests = 0
        self.hang_s = hang_s
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy.lock:
                    proxy.requests += 1
                    proxy.signed_requests += "Authorization" in self.headers
                fault = proxy._fault(self.path)
                if fault == "hang":
                    time.sleep(proxy.hang_s)
                    self.close_connection = True
                    return
                if fault in ("slowdown", "500"):
                    code, status = ("SlowDown", 503) if fault == "slowdown" else ("InternalError", 500)
                    payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload if self.command != "HEAD" else b"")
                    return
                connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
                connection.request(self.command, self.path, body=body or None, headers=dict(self.headers))
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _fault(self, path: str) -> str | None:
        with self.lock:
            for fragment, (fault, times) in self.rules.items():
                if fragment in path:
                    self.hits[fragment] += 1
                    if times < 0 or self.hits[fragment] <= times:
                        return fault
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
