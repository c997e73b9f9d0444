import os

import pytest

# Quiet, small, deterministic Ray for tests: no dashboard, no usage stats, 2 CPUs like CI.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Signed requests in tests go only to the loopback S3 server, with these dummy credentials; they are
# set before Ray starts so its workers inherit them, and they shadow any real ones of the machine.
for _name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "figcurate-test"
os.environ["AWS_SECRET_ACCESS_KEY"] = "figcurate-test"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"


@pytest.fixture(scope="session")
def ray_local():
    import ray
    from s3_bucket import free_port

    if not ray.is_initialized():
        # The metrics agent exports on a known port, reported every second, so a test can scrape the stage counters.
        ray.init(
            num_cpus=2, include_dashboard=False, object_store_memory=300 * 1024 * 1024, log_to_driver=False,
            _metrics_export_port=free_port(), _system_config={"metrics_report_interval_ms": 1000},
        )  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on loopback (real HTTP, real boto3); tests make their own buckets."""
    import logging

    from moto.server import ThreadedMotoServer
    from s3_bucket import free_port

    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    """A 12-article demo corpus on disk (every broken kind, a few second versions)."""
    from pipeline.demo_corpus import generate_corpus

    root = tmp_path_factory.mktemp("s3corpus")
    generate_corpus(root, articles=12, seed=5)
    return root


@pytest.fixture(scope="session")
def pmc_bucket(s3_endpoint, small_corpus):
    """Bucket ``pmc-oa-opendata`` holding the small corpus in the per-version layout plus its inventory."""
    from s3_bucket import (
        admin_client,
        create_public_bucket,
        upload_corpus,
        write_inventory,
    )

    client = admin_client(s3_endpoint)
    create_public_bucket(client, "pmc-oa-opendata")
    upload_corpus(client, "pmc-oa-opendata", small_corpus)
    write_inventory(client, "pmc-oa-opendata")
    return "pmc-oa-opendata"
