"""Source over the PMC bucket: enumerate article versions from the S3 Inventory or by listing.

Both ways look only at the ``metadata/PMC<id>.<ver>.json`` copies, one per version, and keep each
one's ETag and last-modified time so that a later run can tell what changed.

- inventory (full runs): the newest ``inventory-reports/<bucket>/metadata/<timestamp>/manifest.json``
  names gzipped CSV files with rows ``bucket,key,last_modified,etag``;
- list (ID lists and prefixes): ListObjectsV2 with every page followed; one ``metadata/PMC<id>.``
  listing per requested ID (the dot keeps PMC12 from matching PMC123).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote

from stages.io.s3_store import S3Store, normalise_etag
from stages.io.source_local import (
    ArticleVersion,
    SourceError,
    parse_metadata_name,
    select_versions,
)
from stages.io.storage import ObjectNotFound, md5_hex

log = logging.getLogger(__name__)

METADATA_PREFIX = "metadata/"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$")
_PMCID = re.compile(r"^(?:PMC)?(\d+)$", re.IGNORECASE)


def inventory_root(bucket: str) -> str:
    return f"inventory-reports/{bucket}/metadata/"


def parse_pmcid(text: str) -> int:
    """``PMC123``, ``pmc123`` or ``123`` -> 123."""
    match = _PMCID.match(text.strip())
    if not match:
        raise ValueError(f"not a PMCID: {text!r} (expected PMC<digits> or <digits>)")
    return int(match.group(1))


def _version_of(key: str, etag: str, last_modified: str) -> ArticleVersion | None:
    if not key.startswith(METADATA_PREFIX):
        return None
    parsed = parse_metadata_name(key[len(METADATA_PREFIX) :])
    if parsed is None:
        return None
    return ArticleVersion(*parsed, etag=normalise_etag(etag), last_modified=last_modified)


def newest_manifest_key(store: S3Store, bucket: str) -> str:
    """The manifest of the newest inventory that has one (a report being written may lack it)."""
    root = inventory_root(bucket)
    stamps = [p[len(root) :].rstrip("/") for p in store.list_prefixes(root)]
    for stamp in sorted((s for s in stamps if _TIMESTAMP.match(s)), reverse=True):
        key = f"{root}{stamp}/manifest.json"
        if key in store.list(f"{root}{stamp}"):
            return key
    raise SourceError(f"no inventory manifest under s3://{store.bucket}/{root}<timestamp>/manifest.json; use enumerate: list")


def inventory_rows(store: S3Store, manifest_key: str) -> Iterator[tuple[str, str, str]]:
    """(key, last_modified, etag) of every row of every CSV file the manifest names."""
    try:
        manifest = json.loads(store.read(manifest_key))
        files = [(item["key"], item.get("MD5checksum")) for item in manifest["files"]]
    except (ValueError, KeyError, TypeError) as error:
        raise SourceError(f"{manifest_key}: not an S3 Inventory manifest ({type(error).__name__}: {error})") from None
    for key, md5 in files:
        try:
            data = store.read(key)
        except ObjectNotFound:
            raise SourceError(f"{manifest_key} names {key}, which does not exist") from None
        if md5 and md5_hex(data) != md5.lower():
            raise SourceError(f"{key}: md5 {md5_hex(data)} does not match the manifest's {md5}")
        for row in csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8"))):
            if len(row) < 4:
                raise SourceError(f"{key}: expected rows bucket,key,last_modified,etag, got {row!r}")
            yield unquote(row[1]), row[2], row[3]  # inventory keys are URL-encoded


def enumerate_inventory(store: S3Store, bucket: str) -> list[ArticleVersion]:
    manifest_key = newest_manifest_key(store, bucket)
    log.info("enumerating from the inventory %s", manifest_key)
    versions = [v for key, modified, etag in inventory_rows(store, manifest_key) if (v := _version_of(key, etag, modified))]
    return versions


def enumerate_listing(store: S3Store, prefixes: Iterable[str]) -> list[ArticleVersion]:
    """Versions under each ``metadata/<prefix>`` listing."""
    versions = []
    for prefix in prefixes:
        for item in store.iter_objects(METADATA_PREFIX + prefix):
            version = _version_of(item.key, item.etag, item.last_modified)
            if version:
                versions.append(version)
    return versions


def list_pmc_versions(
    store: S3Store,
    *,
    bucket: str,
    method: str,
    pmc_numbers: list[int] | None = None,
    prefix: str | None = None,
    newest_only: bool = True,
    max_articles: int | None = None,
) -> list[ArticleVersion]:
    """The selected article versions, sorted by PMCID number then version."""
    if method == "inventory":
        versions = enumerate_inventory(store, bucket)
        if pmc_numbers is not None:
            wanted = set(pmc_numbers)
            versions = [v for v in versions if v.pmc_number in wanted]
        if prefix:
            versions = [v for v in versions if f"{v.prefix}.json".startswith(prefix)]
    elif pmc_numbers is not None:
        versions = enumerate_listing(store, (f"PMC{n}." for n in sorted(set(pmc_numbers))))
    else:
        versions = enumerate_listing(store, [prefix or ""])
    return select_versions(versions, newest_only=newest_only, max_articles=max_articles)
