"""From a validated source config to the article versions to run and the context workers build stores from."""

from __future__ import annotations

import logging

from pipeline.config import LocalSource, PmcPackagesSource, PmcS3Source
from stages.io.s3_store import RetryPolicy, S3Store
from stages.io.source_local import ArticleVersion, list_article_versions
from stages.io.source_packages import list_packages
from stages.io.source_s3 import list_pmc_versions
from stages.runtime.context import StageContext

log = logging.getLogger(__name__)

AnySource = LocalSource | PmcS3Source | PmcPackagesSource


def stage_context(source: AnySource) -> StageContext:
    selection = source.article_selection()
    if isinstance(source, PmcS3Source):
        return StageContext(
            source_kind="pmc_s3",
            bucket=source.bucket,
            endpoint_url=source.endpoint_url,
            signed=source.signed,
            max_attempts=source.retries.max_attempts,
            retry_base_delay_s=source.retries.base_delay_s,
            retry_max_delay_s=source.retries.max_delay_s,
            timeout_s=source.timeout_s,
            selection=selection,
        )
    if isinstance(source, PmcPackagesSource):
        return StageContext(
            source_kind="pmc_packages",
            source_root=str(source.root.resolve()),
            package_max_members=source.max_members,
            package_max_bytes=source.max_package_bytes,
            selection=selection,
        )
    return StageContext(source_root=str(source.root.resolve()), selection=selection)


def driver_store(source: PmcS3Source) -> S3Store:
    retry = RetryPolicy(source.retries.max_attempts, source.retries.base_delay_s, source.retries.max_delay_s)
    return S3Store(source.bucket, endpoint_url=source.endpoint_url, signed=source.signed, retry=retry, timeout_s=source.timeout_s)


def enumerate_source(source: AnySource) -> list[ArticleVersion]:
    """Article versions in deterministic order (PMCID number, then version)."""
    if isinstance(source, PmcS3Source):
        return list_pmc_versions(
            driver_store(source),
            bucket=source.bucket,
            method=source.enumeration(),
            pmc_numbers=source.pmc_numbers(),
            prefix=source.prefix,
            newest_only=source.newest_version_only,
            max_articles=source.max_articles,
        )
    if isinstance(source, PmcPackagesSource):
        return list_packages(source.root, pmc_numbers=source.pmc_numbers(), max_articles=source.max_articles)
    return list_article_versions(source.root, newest_only=source.newest_version_only, max_articles=source.max_articles)


def describe(source: AnySource) -> dict:
    if isinstance(source, PmcS3Source):
        return {"kind": "pmc_s3", "root": f"s3://{source.bucket}", "bucket": source.bucket, "endpoint_url": source.endpoint_url, "enumerate": source.enumeration()}
    if isinstance(source, PmcPackagesSource):
        return {"kind": "pmc_packages", "root": str(source.root)}
    return {"kind": "local", "root": str(source.root)}
