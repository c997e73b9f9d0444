"""What every stage worker needs to know about the run besides its own spec (picklable).

It carries the settings a worker needs to build its own store (never a client, never a
credential: signed access takes credentials from the worker's boto3 chain) and the article
selection that the fetch stage applies once it has read an article's metadata.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from stages.io.storage import LocalStore


class ArticleSelection(BaseModel):
    """Filters that need the metadata JSON; the fetch stage records each exclusion as a drop."""

    model_config = ConfigDict(frozen=True)

    licenses: tuple[str, ...] | None = None  # normalised codes allowed; None allows every license
    exclude_retracted: bool = False
    exclude_manuscripts: bool = False
    exclude_historical_ocr: bool = False


class StageContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_kind: Literal["local", "pmc_s3", "pmc_packages"] = "local"
    source_root: str = "."
    bucket: str | None = None
    endpoint_url: str | None = None
    signed: bool = False
    max_attempts: int = 5
    retry_base_delay_s: float = 0.2
    retry_max_delay_s: float = 10.0
    timeout_s: float = 30.0
    max_object_bytes: int = 256 * 1024 * 1024
    # pmc_packages: caps of one package, checked while it is streamed
    package_max_members: int = 10_000
    package_max_bytes: int = 4 * 1024**3
    # Shared scratch folder for crash quarantine (see stages/runtime/crash_guard.py); None turns it off.
    scratch_dir: str | None = None
    max_worker_crashes: int = 2
    selection: ArticleSelection = ArticleSelection()

    def store(self):
        if self.source_kind == "pmc_s3":
            from stages.io.s3_store import RetryPolicy, cached_store

            retry = RetryPolicy(self.max_attempts, self.retry_base_delay_s, self.retry_max_delay_s)
            return cached_store(self.bucket, self.endpoint_url, self.signed, retry, self.timeout_s)
        if self.source_kind == "pmc_packages":
            from stages.io.package_store import PackageLimits, cached_package_store

            limits = PackageLimits(self.package_max_members, self.package_max_bytes, self.max_object_bytes)
            return cached_package_store(self.source_root, limits)
        return LocalStore(self.source_root)
