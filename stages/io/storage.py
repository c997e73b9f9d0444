"""Where article bytes come from: a local mirror of the bucket's per-version layout.

Keys are the bucket's object keys (``PMC123.1/PMC123.1.xml``); metadata URLs look like
``s3://pmc-oa-opendata/PMC123.1/x.jpg?md5=<hex>`` and are split into key and checksum here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class ObjectNotFound(Exception):
    pass


class ObjectTooLarge(Exception):
    pass


def split_object_url(url: str) -> tuple[str, str | None]:
    """``s3://bucket/key?md5=abc`` -> (``key``, ``abc``). A bare key passes through."""
    parts = urlsplit(url)
    if parts.scheme in ("s3", "http", "https"):
        key = parts.path.lstrip("/")
    else:
        key = url.split("?", 1)[0]
    md5 = parse_qs(parts.query).get("md5", [None])[0]
    return key, md5


def file_hexdigest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class LocalStore:
    """A local folder laid out like the bucket: ``<root>/<key>``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ObjectNotFound(f"key escapes the mirror root: {key!r}")
        return path

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ObjectTooLarge(f"{key}: {size} bytes > cap {max_bytes}")
        return path.read_bytes()

    def list(self, prefix: str) -> list[str]:
        """Keys of the regular files directly under ``prefix`` (a folder key), sorted."""
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        return sorted(f"{prefix.rstrip('/')}/{p.name}" for p in folder.iterdir() if p.is_file())


class ObjectExists(Exception):
    """A create-only write found the object already there."""
