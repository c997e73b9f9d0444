"""Output to s3:// (the loopback S3 server): the same bytes as a local run, resume, and a failed upload."""

import json

import pytest
from builders import run_config
from s3_bucket import FaultProxy, admin_client

from pipeline import runner
from pipeline.config import load_config

pytestmark = pytest.mark.slow


def s3_config(tmp_path, corpus, endpoint, prefix):
    config = load_config(run_config(tmp_path, corpus, tmp_path / "unused"))
    output = config.output.model_copy(update={"path": f"s3://figcurate-out/{prefix}", "endpoint_url": endpoint})
    return config.model_copy(update={"output": output})


@pytest.fixture(scope="module")
def out_bucket(s3_endpoint):
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket="figcurate-out")
    return client


def objects(client, prefix):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="figcurate-out", Prefix=prefix + "/")
    return {item["Key"][len(prefix) + 1 :] for page in pages for item in page.get("Contents", [])}


def body(client, key):
    return client.get_object(Bucket="figcurate-out", Key=key)["Body"].read()


def test_s3_output_holds_the_same_shards_as_a_local_run_and_resumes(run_output, corpus, tmp_path, s3_endpoint, out_bucket, ray_local):
    local_output, local_stats, _ = run_output
    config = s3_config(tmp_path, corpus, s3_endpoint, "run1")
    stats = runner.run(config)
    keys = objects(out_bucket, "run1")
    shards = sorted(k for k in keys if k.startswith("shards/") and k.endswith(".tar"))
    assert shards == sorted(f"shards/{p.name}" for p in (local_output / "shards").glob("*.tar"))
    for shard in shards:
        assert body(out_bucket, f"run1/{shard}") == (local_output / shard).read_bytes()
    assert {"manifest.json", "stats.json", "run.json", "shards/sizes.json", "consumed.parquet", "retracted.json"} <= keys
    assert {f"units/{s[7:13]}.json" for s in shards} <= keys and {f"index/{s[7:13]}.parquet" for s in shards} <= keys
    assert not any(k.startswith("_work") for k in keys)  # scratch stays local
    manifest = json.loads(body(out_bucket, "run1/manifest.json"))
    assert manifest["samples"] == stats["samples"] == local_stats["samples"]
    assert f"s3://figcurate-out/run1/shards/{{000000..{len(shards) - 1:06d}}}.tar" in runner.summary(stats)
    again = runner.run(config)
    assert again["resume"]["units_run"] == 0 and again["resume"]["units_skipped"] == stats["units"]


def test_failed_shard_upload_leaves_no_partial_object_and_the_rerun_completes_it(run_output, corpus, tmp_path, s3_endpoint, out_bucket, ray_local):
    local_output, _, _ = run_output
    proxy = FaultProxy(s3_endpoint)
    try:
        proxy.rules["run2/shards/000001.tar"] = ("500", -1)
        config = s3_config(tmp_path, corpus, proxy.endpoint, "run2")
        with pytest.raises(Exception, match="000001.tar"):
            runner.run(config)
        keys = objects(out_bucket, "run2")
        assert "shards/000001.tar" not in keys and "units/000001.json" not in keys
        assert "manifest.json" not in keys
        proxy.rules.clear()
        stats = runner.run(config)
        assert stats["resume"]["units_run"] >= 1
        for shard in sorted((local_output / "shards").glob("*.tar")):
            assert body(out_bucket, f"run2/shards/{shard.name}") == shard.read_bytes()
    finally:
        proxy.close()
