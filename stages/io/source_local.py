"""Source over a local mirror of the bucket: enumerate article versions from ``metadata/*.json``.

The bucket keeps a copy of every version's metadata JSON under ``metadata/PMC<id>.<ver>.json``;
listing that one folder is how a mirror is enumerated without walking every article folder.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

_METADATA_NAME = re.compile(r"^PMC(\d+)\.(\d+)\.json$")


class SourceError(Exception):
    pass


@dataclass(frozen=True, order=True)
class ArticleVersion:
    pmc_number: int
    version: int
    # What the source said about the version's metadata JSON; incremental runs compare the ETag.
    etag: str | None = field(default=None, compare=False)
    last_modified: str | None = field(default=None, compare=False)

    @property
    def pmcid(self) -> str:
        return f"PMC{self.pmc_number}"

    @property
    def prefix(self) -> str:
        """The bucket's folder key of this version, ``PMC123.1``."""
        return f"{self.pmcid}.{self.version}"


def articles_sha256(articles: list[ArticleVersion] | tuple[ArticleVersion, ...]) -> str:
    """Identity of a sorted list of article versions (what a work unit holds)."""
    return hashlib.sha256("\n".join(a.prefix for a in articles).encode()).hexdigest()
def parse_metadata_name(name: str) -> tuple[int, int] | None:
    """``PMC123.2.json`` -> (123, 2); anything else -> None."""
    match = _METADATA_NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def select_versions(versions: list[ArticleVersion], *, newest_only: bool, max_articles: int | None) -> list[ArticleVersion]:
    """Sorted by PMCID number then version (deterministic work units), newest only on request, capped."""
    versions = sorted(set(versions))
    if newest_only:
        newest: dict[int, ArticleVersion] = {}
        for item in versions:
            newest[item.pmc_number] = item  # sorted, so the last one wins
        versions = sorted(newest.values())
    return versions[:max_articles] if max_articles is not None else versions


def list_article_versions(root: Path, *, newest_only: bool = True, max_articles: int | None = None) -> list[ArticleVersion]:
    """Article versions in the mirror, sorted by PMCID then version (deterministic)."""
    metadata_dir = Path(root) / "metadata"
    if not metadata_dir.is_dir():
        raise SourceError(f"{root} is not a PMC mirror: it has no metadata/ folder of PMC<id>.<ver>.json files")
    versions, ignored = [], 0
    for path in metadata_dir.iterdir():
        match = _METADATA_NAME.match(path.name)
        if match:
            # The md5 of the metadata JSON is what S3 reports as its ETag, so a mirror made with
            # `aws s3 sync` and the bucket itself agree on what changed (for --since).
            etag = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat()
            versions.append(ArticleVersion(int(match.group(1)), int(match.group(2)), etag=etag, last_modified=modified))
        else:
            ignored += 1
    if ignored:
        log.warning("ignored %d files in %s that are not PMC<id>.<ver>.json", ignored, metadata_dir)
    return select_versions(versions, newest_only=newest_only, max_articles=max_articles)
