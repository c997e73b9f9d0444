"""Stage ``fetch``: an article version's metadata JSON and XML bytes, checked against their md5.

From a package mirror (``pmc_packages``) there is no metadata JSON: one pass over the package
reads the ``.nxml`` and lists the members, and the metadata comes from the XML (``jats_meta``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePosixPath

from lxml import etree
from pydantic import Field

from schemas.records import FETCHED_ARTICLE
from stages.io.package_store import PackageError
from stages.io.s3_store import StoreTimeout
from stages.io.storage import ObjectNotFound, ObjectTooLarge, md5_hex, split_object_url
from stages.parse_jats.jats_meta import article_metadata
from stages.parse_jats.jats_text import parse_xml
from stages.parse_jats.licenses import normalise_license
from stages.runtime.base import Drop, Row, Stage, StageSpec
from stages.runtime.context import ArticleSelection


class FetchSpec(StageSpec):
    verify_md5: bool = Field(True, description="check each object against the md5 in its metadata URL")
    batch_size: int = 8


def read_checked(store, key: str, md5: str | None, *, verify: bool, max_bytes: int) -> bytes:
    """Read ``key`` or raise ``Drop`` with the fetch reason that explains the failure."""
    try:
        data = store.read(key, max_bytes=max_bytes)
    except ObjectNotFound:
        raise Drop("fetch_not_found", key) from None
    except PackageError as error:
        raise Drop(error.reason, f"{key}: {error}") from None
    except ObjectTooLarge as error:
        raise Drop("fetch_too_large", str(error)) from None
    except StoreTimeout as error:
        raise Drop("fetch_timeout", str(error)) from None
    except OSError as error:
        raise Drop("fetch_error", f"{key}: {error}") from None
    if verify and md5 and md5_hex(data) != md5.lower():
        raise Drop("fetch_checksum_mismatch", f"{key}: md5 {md5_hex(data)} != expected {md5}")
    return data


class Fetch(Stage):
    name = "fetch"
    spec_type = FetchSpec
    output_schema = FETCHED_ARTICLE

    def process(self, row: Row) -> Iterable[Row]:
        if self.context.source_kind == "pmc_packages":
            yield self._from_package(row)
            return
        store = self.context.store()
        prefix = row["source_prefix"]
        meta_bytes = read_checked(store, f"metadata/{prefix}.json", None, verify=False, max_bytes=self.context.max_object_bytes)
        try:
            meta = json.loads(meta_bytes)
            if not isinstance(meta, dict) or not isinstance(meta.get("xml_url"), str):
                raise ValueError("metadata must be an object with an xml_url string")
            xml_key, xml_md5 = split_object_url(meta["xml_url"])
            media = [self._media_entry(url) for url in meta.get("media_urls") or []]
            pdf_key, pdf_md5 = split_object_url(meta["pdf_url"]) if isinstance(meta.get("pdf_url"), str) else (None, None)
        except (ValueError, KeyError, TypeError) as error:
            raise Drop("metadata_invalid", f"{prefix}: {type(error).__name__}: {error}") from None
        check_selection(meta, self.context.selection)  # before the XML: excluded articles cost one read
        xml_bytes = read_checked(store, xml_key, xml_md5, verify=self.spec.verify_md5, max_bytes=self.context.max_object_bytes)
        yield {
            **row,
            "pmid": _text(meta.get("pmid")),
            "doi": _text(meta.get("doi")),
            "title": _text(meta.get("title")),
            "citation": _text(meta.get("citation")),
            "license": normalise_license(meta.get("license_code")),
            "license_raw": _text(meta.get("license_code")),
            "license_source": "metadata_json" if meta.get("license_code") else None,
            "is_manuscript": bool(meta.get("is_manuscript", False)),
            "is_retracted": bool(meta.get("is_retracted", False)),
            "xml_key": xml_key,
            "xml_bytes": xml_bytes,
            "media": media,
            "pdf_key": pdf_key,
            "pdf_md5": pdf_md5,
        }

    def _from_package(self, row: Row) -> Row:
        store, prefix = self.context.store(), row["source_prefix"]
        try:
            scan = store.scan_article(prefix, want=lambda name, size, kept: name.lower().endswith(".nxml") and kept == 0)
        except ObjectNotFound as error:
            raise Drop("fetch_not_found", str(error)) from None
        except PackageError as error:
            raise Drop(error.reason, f"{prefix}: {error}") from None
        xml_name = next((name for name in scan.members if name.lower().endswith(".nxml")), None)
        if xml_name is None:
            if scan.truncated:
                raise Drop("package_corrupt", f"{scan.path.name}: no complete .nxml member before the cut ({scan.truncated})")
            raise Drop("fetch_not_found", f"{scan.path.name} has no .nxml member")
        if xml_name not in scan.data:
            raise Drop("fetch_too_large", f"{prefix}/{xml_name}: {scan.sizes[xml_name]} bytes > cap {store.limits.max_member_bytes}")
        xml_bytes = scan.data[xml_name]
        try:
            meta = article_metadata(parse_xml(xml_bytes))
        except etree.XMLSyntaxError as error:
            raise Drop("xml_malformed", f"{prefix}/{xml_name}: {error}") from None
        if meta["pmcid"] is not None and meta["pmcid"] != row["pmcid"]:
            raise Drop("metadata_invalid", f"{scan.path.name} holds the XML of {meta['pmcid']}")
        check_selection(meta, self.context.selection)
        return {
            **row,
            **{field: meta[field] for field in ("pmid", "doi", "title", "license_raw", "license_source")},
            "citation": None,
            "license": meta["license_code"],
            "is_manuscript": False,
            "is_retracted": False,
            "xml_key": f"{prefix}/{xml_name}",
            "xml_bytes": xml_bytes,
            # No md5 in a package: the media are read from the same file the listing came from.
            "media": [{"name": name, "key": f"{prefix}/{name}", "md5": None} for name in scan.members if name != xml_name],
            "pdf_key": next((f"{prefix}/{name}" for name in scan.members if name.lower().endswith(".pdf")), None),
        }

    @staticmethod
    def _media_entry(url: str) -> dict:
        key, md5 = split_object_url(url)
        return {"name": PurePosixPath(key).name, "key": key, "md5": md5}


def check_selection(meta: dict, selection: ArticleSelection) -> None:
    """Raise the exclusion drop for an article the run's selection does not want."""
    license = normalise_license(meta.get("license_code"))
    if selection.licenses is not None and license not in selection.licenses:
        raise Drop("license_excluded", f"{license} (raw {meta.get('license_code')!r}) not in {list(selection.licenses)}")
    if selection.exclude_retracted and meta.get("is_retracted"):
        raise Drop("retracted_excluded", "is_retracted is true")
    if selection.exclude_manuscripts and meta.get("is_manuscript"):
        raise Drop("manuscript_excluded", "is_manuscript is true")
    if selection.exclude_historical_ocr and meta.get("is_historical_ocr"):
        raise Drop("historical_ocr_excluded", "is_historical_ocr is true")


def _text(value) -> str | None:
    return None if value is None else str(value)
