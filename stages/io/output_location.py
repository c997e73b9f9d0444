"""Where a run's output lives: a local folder or an ``s3://bucket/prefix``, behind one interface.

Everything a run writes goes through ``publish`` (a finished local file put in place at once:
an atomic rename locally, a single PUT on S3, which is never partially visible) or
``write_bytes``. Shards are published with ``keep_identical``: on S3 a create-only PUT, so a
retried unit that rebuilt the same bytes leaves the published object (and its time stamp) alone
and uploads nothing twice. Different bytes under the name of a unit that has no unit record yet
are the leftover of a crashed or tampered attempt and are replaced: only the unit record, written
last, makes a unit's files final.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import BinaryIO
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from stages.io.storage import ObjectExists, file_hexdigest

log = logging.getLogger(__name__)


class OutputTarget(BaseModel):
    """A picklable description of the output that workers turn into a location."""

    model_config = ConfigDict(frozen=True)

    uri: str
    endpoint_url: str | None = None
    signed: bool = True

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    def open(self) -> LocalOutput | S3Output:
        if self.is_s3:
            parts = urlsplit(self.uri)
            return S3Output(parts.netloc, parts.path.strip("/"), endpoint_url=self.endpoint_url, signed=self.signed)
        return LocalOutput(Path(self.uri))


def open_location(uri: str, endpoint_url: str | None = None, signed: bool = True) -> LocalOutput | S3Output:
    """A finished run's output to read: a local folder, or ``s3://bucket/prefix`` at ``endpoint_url``."""
    return OutputTarget(uri=uri if uri.startswith("s3://") else str(Path(uri).resolve()), endpoint_url=endpoint_url, signed=signed).open()


def read_parquet(location: LocalOutput | S3Output, rel: str, columns: list[str] | None = None) -> pa.Table | None:
    """The Parquet file at ``rel`` as a table, or None when it is missing."""
    data = location.read_bytes(rel)
    return None if data is None else pq.read_table(pa.BufferReader(data), columns=columns)


def read_json(location: LocalOutput | S3Output, rel: str):
    """The JSON document at ``rel``, or None when it is missing or unreadable."""
    data = location.read_bytes(rel)
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None


def write_json(location: LocalOutput | S3Output, rel: str, data) -> None:
    location.write_bytes(rel, (json.dumps(data, indent=2) + "\n").encode())


class LocalOutput:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def __str__(self) -> str:
        return str(self.root)

    def join(self, rel: str) -> str:
        return str(self.root / rel)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A scratch folder on the output's filesystem, so that publishing is a rename."""
        base = self.root / "_work" / "staging"
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=base) as folder:
            yield Path(folder)

    def publish(self, rel: str, local_file: Path, *, keep_identical: bool = False) -> None:
        final = self.root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        if keep_identical and final.is_file():
            if final.stat().st_size == Path(local_file).stat().st_size and file_hexdigest(final, "md5") == file_hexdigest(local_file, "md5"):
                Path(local_file).unlink()
                return
            log.warning("replacing %s: it holds other bytes than this unit's (a leftover of an unfinished attempt)", final)
        os.replace(local_file, final)

    def write_bytes(self, rel: str, data: bytes) -> None:
        final = self.root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, final)

    def read_bytes(self, rel: str) -> bytes | None:
        try:
            return (self.root / rel).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def open_stream(self, rel: str) -> BinaryIO:
        return open(self.root / rel, "rb")

    def list(self, folder: str) -> list[str]:
        """Names of the files directly in ``folder``, sorted."""
        path = self.root / folder
        return sorted(item.name for item in path.iterdir() if item.is_file()) if path.is_dir() else []

    def size(self, rel: str) -> int | None:
        path = self.root / rel
        return path.stat().st_size if path.is_file() else None

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def remove(self, rel: str) -> None:
        path = self.root / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    def ensure(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"output {self.root} exists and is not a folder")
        self.root.mkdir(parents=True, exist_ok=True)

    def local_scratch(self) -> str:
        return str(self.root / "_work")


class S3Output:
    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None = None, signed: bool = True):
        from stages.io.s3_store import S3Store

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url, self.signed = endpoint_url, signed
        self.store = S3Store(bucket, endpoint_url=endpoint_url, signed=signed)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def join(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self.key(rel)}"

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="figcurate-") as folder:
            yield Path(folder)

    def publish(self, rel: str, local_file: Path, *, keep_identical: bool = False) -> None:
        try:
            self.store.put_file(self.key(rel), local_file, create_only=keep_identical)
        except ObjectExists:
            head = self.store.head(self.key(rel))
            if head is not None and head[0] == Path(local_file).stat().st_size and head[1] == file_hexdigest(local_file, "md5"):
                return
            log.warning("replacing %s: it holds other bytes than this unit's (a leftover of an unfinished attempt)", self.join(rel))
            self.store.put_file(self.key(rel), local_file)

    def write_bytes(self, rel: str, data: bytes) -> None:
        with self.staging() as folder:
            path = folder / "object"
            path.write_bytes(data)
            self.store.put_file(self.key(rel), path)

    def read_bytes(self, rel: str) -> bytes | None:
        from stages.io.storage import ObjectNotFound

        try:
            return self.store.read(self.key(rel))
        except ObjectNotFound:
            return None

    def open_stream(self, rel: str) -> BinaryIO:
        return self.store.open(self.key(rel))

    def list(self, folder: str) -> list[str]:
        return sorted(key.rpartition("/")[2] for key in self.store.list(self.key(folder)))

    def size(self, rel: str) -> int | None:
        head = self.store.head(self.key(rel))
        return None if head is None else head[0]

    def exists(self, rel: str) -> bool:
        return self.store.head(self.key(rel)) is not None or bool(next(self.store.iter_objects(self.key(rel) + "/"), None))

    def remove(self, rel: str) -> None:
        if self.store.head(self.key(rel)) is not None:
            self.store.delete_prefix(self.key(rel))  # exactly that key (and any key it prefixes)
        self.store.delete_prefix(self.key(rel) + "/")

    def ensure(self) -> None:
        pass

    def local_scratch(self) -> str | None:
        return None
