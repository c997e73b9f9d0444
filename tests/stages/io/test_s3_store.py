"""S3Store against a real S3 endpoint (moto over HTTP), with faults injected by a loopback proxy."""

import pytest
from s3_bucket import FaultProxy

from stages.io.s3_store import RetryPolicy, S3Store, StoreTimeout, StoreUnavailable
from stages.io.storage import ObjectNotFound, ObjectTooLarge

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def proxy(s3_endpoint, pmc_bucket):
    proxy = FaultProxy(s3_endpoint, hang_s=1.5)
    yield proxy
    proxy.close()


def store(endpoint, **kwargs) -> S3Store:
    return S3Store("pmc-oa-opendata", endpoint_url=endpoint, retry=kwargs.pop("retry", FAST), **kwargs)


def first_version(corpus):
    return sorted(p.name for p in corpus.iterdir() if p.name.startswith("PMC"))[0]


def test_unsigned_read_and_list_match_the_files(proxy, small_corpus):
    s3 = store(proxy.endpoint)
    folder = first_version(small_corpus)
    keys = s3.list(folder)
    assert keys == sorted(f"{folder}/{p.name}" for p in (small_corpus / folder).iterdir())
    for key in keys:
        assert s3.read(key) == (small_corpus / key).read_bytes()
    assert proxy.requests == len(keys) + 1 and proxy.signed_requests == 0


def test_signed_mode_signs_with_the_credential_chain(proxy, small_corpus, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    key = f"metadata/{first_version(small_corpus)}.json"
    assert store(proxy.endpoint, signed=True).read(key) == (small_corpus / key).read_bytes()
    assert proxy.signed_requests == 1


def test_prefix_missing_key_and_size_cap(proxy, small_corpus):
    s3 = store(proxy.endpoint)
    folder = first_version(small_corpus)
    with pytest.raises(ObjectNotFound, match="prefix"):
        s3.read(f"{folder}/")
    with pytest.raises(ObjectNotFound):
        s3.read(f"{folder}/nope.jpg")
    xml_size = (small_corpus / folder / f"{folder}.xml").stat().st_size
    with pytest.raises(ObjectTooLarge, match=str(xml_size)):
        s3.read(f"{folder}/{folder}.xml", max_bytes=xml_size - 1)
    assert len(s3.read(f"{folder}/{folder}.xml", max_bytes=xml_size)) == xml_size
    assert proxy.requests == 3  # the prefix never reached the server


def test_listing_follows_every_page(proxy, small_corpus):
    s3 = store(proxy.endpoint, page_size=3)
    found = [item.key for item in s3.iter_objects("metadata/")]
    assert found == sorted(f"metadata/{p.name}" for p in (small_corpus / "metadata").iterdir())
    assert proxy.requests == -(-len(found) // 3)
    assert all(len(item.etag) == 32 and '"' not in item.etag for item in s3.iter_objects("metadata/"))


@pytest.mark.parametrize("fault", ["slowdown", "500"])
def test_throttling_and_5xx_are_retried_until_they_pass(proxy, small_corpus, fault):
    key = f"metadata/{first_version(small_corpus)}.json"
    proxy.rules[key] = (fault, 3)
    s3 = store(proxy.endpoint)
    assert s3.read(key) == (small_corpus / key).read_bytes()
    assert proxy.hits[key] == 4 and s3.attempts == 4


def test_retry_budget_is_bounded(proxy, small_corpus):
    key = f"metadata/{first_version(small_corpus)}.json"
    proxy.rules[key] = ("slowdown", -1)
    s3 = store(proxy.endpoint)
    with pytest.raises(StoreUnavailable, match="gave up after 4 attempts.*SlowDown"):
        s3.read(key)
    assert proxy.hits[key] == 4


def test_timeouts_are_retried_then_reported_as_timeouts(proxy, small_corpus):
    key = f"metadata/{first_version(small_corpus)}.json"
    proxy.rules[key] = ("hang", 1)
    s3 = store(proxy.endpoint, timeout_s=0.3)
    assert s3.read(key) == (small_corpus / key).read_bytes()
    proxy.rules[key] = ("hang", -1)
    with pytest.raises(StoreTimeout):
        store(proxy.endpoint, timeout_s=0.3, retry=RetryPolicy(2, 0.01, 0.01)).read(key)


def test_backoff_is_exponential_capped_and_jittered():
    import random

    policy = RetryPolicy(max_attempts=8, base_delay_s=0.1, max_delay_s=1.0)
    rng = random.Random(0)
    delays = [[policy.delay(attempt, rng) for _ in range(200)] for attempt in range(6)]
    for attempt, samples in enumerate(delays):
        bound = min(1.0, 0.1 * 2**attempt)
        assert all(0 <= d <= bound for d in samples)
        assert max(samples) > 0.8 * bound and len(set(samples)) > 150  # spread over the whole window
