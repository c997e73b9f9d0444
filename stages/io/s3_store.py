"""Where article bytes come from on S3: the bucket's per-version layout, read with boto3.

Unsigned by default (PMC's bucket is public); ``signed=True`` uses the standard boto3 credential
chain, and nothing here ever sees, logs or stores a credential. botocore's own retries are off so
that this module owns the retry budget: exponential backoff with full jitter on throttling, 5xx,
timeouts and dropped connections, then a mapped exception the fetch stage turns into a drop.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from stages.io.storage import ObjectExists, ObjectNotFound, ObjectTooLarge

log = logging.getLogger(__name__)

PMC_BUCKET = "pmc-oa-opendata"
PMC_REGION = "us-east-1"

T = TypeVar("T")

_THROTTLE_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
_TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed"}
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_TIMEOUTS = (ConnectTimeoutError, ReadTimeoutError)
_CONNECTION = (EndpointConnectionError, ConnectionClosedError, ResponseStreamingError)


class StoreTimeout(OSError):
    """Every attempt timed out (connect or read)."""


class StoreUnavailable(OSError):
    """The store kept failing (throttling, 5xx, dropped connections) past the retry budget, or refused access."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * (2**attempt)))


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    last_modified: str
    size: int


def normalise_etag(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_retryable(error: Exception) -> bool:
    if isinstance(error, _TIMEOUTS + _CONNECTION):
        return True
    if isinstance(error, ClientError):
        status = _status(error)
        return _code(error) in _THROTTLE_CODES | _TRANSIENT_CODES or status == 429 or status >= 500
    return False


class S3Store:
    """Read-only access to one bucket, with the same ``read``/``list`` surface as ``LocalStore``."""

    def __init__(
        self,
        bucket: str = PMC_BUCKET,
        *,
        endpoint_url: str | None = None,
        signed: bool = False,
        region: str = PMC_REGION,
        retry: RetryPolicy = RetryPolicy(),
        timeout_s: float = 30.0,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.bucket = bucket
        self.page_size = page_size
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random()
        config = Config(
            region_name=region,
            signature_version=None if signed else UNSIGNED,
            retries={"total_max_attempts": 1},  # this module retries; see the docstring
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            # A loopback or on-premise endpoint has no per-bucket DNS names.
            s3={"addressing_style": "path"} if endpoint_url else {},
            max_pool_connections=32,
        )
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
        self.attempts = 0  # requests sent, retries included (benchmarks and tests read it)

    def _call(self, what: str, request: Callable[[], T]) -> T:
        last: Exception | None = None
        for attempt in range(self.retry.max_attempts):
            if attempt:
                self._sleep(self.retry.delay(attempt - 1, self._rng))
            self.attempts += 1
            try:
                return request()
            except ClientError as error:
                if _code(error) in _NOT_FOUND_CODES or _status(error) == 404:
                    raise ObjectNotFound(what) from None
                if _code(error) == "PreconditionFailed" or _status(error) == 412:
                    raise ObjectExists(what) from None
                if not is_retryable(error):
                    raise StoreUnavailable(f"{what}: {_code(error) or _status(error)}: {error}") from None
                last = error
            except (*_TIMEOUTS, *_CONNECTION) as error:
                last = error
            log.debug("attempt %d for %s failed: %s", attempt + 1, what, type(last).__name__)
        detail = f"{what}: gave up after {self.retry.max_attempts} attempts; last error {type(last).__name__}: {last}"
        if isinstance(last, _TIMEOUTS):
            raise StoreTimeout(detail)
        raise StoreUnavailable(detail)

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """The object's bytes. One GET whose ContentLength is checked before the body is read."""
        if not key or key.endswith("/"):
            raise ObjectNotFound(f"{key!r} is a prefix, not an object")

        def get() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]
            try:
                size = int(response.get("ContentLength") or 0)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(f"{key}: {size} bytes > cap {max_bytes}")
                # Never trust the header alone: read at most one byte past the cap.
                data = body.read(None if max_bytes is None else max_bytes + 1)
            finally:
                body.close()
            if max_bytes is not None and len(data) > max_bytes:
                raise ObjectTooLarge(f"{key}: more than {max_bytes} bytes")
            return data

        try:
            return self._call(key, get)
        except BotoCoreError as error:  # anything botocore raises that is not retryable
            raise StoreUnavailable(f"{key}: {type(error).__name__}: {error}") from None

    def open(self, key: str):
        """The object's body as a stream (the GET retried; reading it is not): for objects too large to hold."""
        response = self._call(key, functools.partial(self.client.get_object, Bucket=self.bucket, Key=key))
        return response["Body"]

    def iter_objects(self, prefix: str, *, delimiter: str | None = None) -> Iterator[ListedObject]:
        """Every object under ``prefix`` (ListObjectsV2, all pages), each page retried on its own."""
        token: str | None = None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self.page_size}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"list {prefix!r}", functools.partial(self.client.list_objects_v2, **kwargs))
            for item in page.get("Contents", []):
                yield ListedObject(item["Key"], normalise_etag(item.get("ETag")), item["LastModified"].isoformat(), int(item.get("Size", 0)))
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def list_prefixes(self, prefix: str) -> list[str]:
        """The 'folders' directly under ``prefix`` (CommonPrefixes, all pages), sorted."""
        found, token = [], None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": self.page_size}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"list {prefix!r}", functools.partial(self.client.list_objects_v2, **kwargs))
            found += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return sorted(found)
            token = page["NextContinuationToken"]

    def list(self, prefix: str) -> list[str]:
        """Keys of the objects directly under ``prefix`` (a folder key), sorted; like ``LocalStore.list``."""
        folder = prefix.rstrip("/") + "/"
        return sorted(item.key for item in self.iter_objects(folder, delimiter="/"))


    def put_file(self, key: str, path, *, create_only: bool = False) -> None:
        """Upload a local file as one PUT (never partially visible); ``create_only`` refuses to replace an object."""

        def put() -> None:
            with open(path, "rb") as body:
                extra = {"IfNoneMatch": "*"} if create_only else {}
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)

        self._call(f"put {key}", put)

    def head(self, key: str) -> tuple[int, str] | None:
        """(size, etag) of an object, or None when it does not exist."""
        try:
            response = self._call(key, functools.partial(self.client.head_object, Bucket=self.bucket, Key=key))
        except ObjectNotFound:
            return None
        return int(response["ContentLength"]), normalise_etag(response.get("ETag"))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        keys = [item.key for item in self.iter_objects(prefix)]
        for start in range(0, len(keys), 1000):
            batch = {"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True}
            self._call(f"delete {prefix!r}", functools.partial(self.client.delete_objects, Bucket=self.bucket, Delete=batch))
        return len(keys)


@functools.lru_cache(maxsize=4)
def cached_store(bucket: str, endpoint_url: str | None, signed: bool, retry: RetryPolicy, timeout_s: float) -> S3Store:
    """One client per worker process and store settings (boto3 clients are costly to build)."""
    return S3Store(bucket, endpoint_url=endpoint_url, signed=signed, retry=retry, timeout_s=timeout_s)
