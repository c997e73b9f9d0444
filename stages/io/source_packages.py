"""Source over a local mirror of PMC's old packages: one article per ``PMC<id>.tar.gz`` under the root.

Packages carry no version, so every article is version 1. Each package's size and modification
time stand in for the bucket's ETag, so ``--since`` reprocesses a package that was replaced.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from stages.io.package_store import find_packages
from stages.io.source_local import ArticleVersion, SourceError

log = logging.getLogger(__name__)


def list_packages(root: Path, *, pmc_numbers: list[int] | None = None, max_articles: int | None = None) -> list[ArticleVersion]:
    """Article versions of the packages under ``root`` in PMCID order, only ``pmc_numbers`` if given, capped."""
    packages = find_packages(root)
    if not packages:
        raise SourceError(f"{root} holds no PMC<id>.tar.gz packages")
    numbers = sorted(packages)
    if pmc_numbers is not None:
        wanted = set(pmc_numbers)
        missing = sorted(wanted - set(numbers))
        if missing:
            log.warning("%d requested PMCIDs have no package under %s (first: PMC%d)", len(missing), root, missing[0])
        numbers = [n for n in numbers if n in wanted]
    versions = []
    for number in numbers[:max_articles] if max_articles is not None else numbers:
        stat = packages[number].stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
        versions.append(ArticleVersion(number, 1, etag=f"{stat.st_size}-{stat.st_mtime_ns}", last_modified=modified))
    return versions
