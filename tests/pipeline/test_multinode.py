"""A real multi-node Ray cluster on this machine (head plus two worker nodes, `ray.cluster_utils`).

`figcurate run --address` joins it as an operator's job does. One worker node is removed without
warning once the first shard is published, and a driver is killed and its run resumed against the
same cluster: both end with exactly the samples of a single-node run, none twice, and a verified output.
"""

import json

import pytest
from cli_runs import figcurate, finished_units, kill_when, published_shards, run_to_end, shard_keys, wait_until, write_config

from pipeline.demo_corpus import generate_corpus

pytestmark = pytest.mark.slow
OBJECT_STORE_BYTES = 150 * 1024 * 1024
ARTICLES_PER_SHARD = 2


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("multinode-corpus")
    generate_corpus(root, articles=20, seed=7)
    return root


@pytest.fixture(scope="module")
def single_node_keys(corpus, tmp_path_factory):
    """The sample keys of the same config on one local Ray node: what every cluster run must give."""
    folder = tmp_path_factory.mktemp("single-node")
    run_to_end("run", str(cluster_run_config(corpus, folder)))
    keys = shard_keys(folder / "out")
    assert keys and len(keys) == len(set(keys))
    return sorted(keys)


@pytest.fixture
def cluster():
    """Head and two workers, one CPU each; the test process itself never joins it."""
    from ray.cluster_utils import Cluster

    head = {"num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    workers = [cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, workers
    cluster.shutdown()


def cluster_run_config(corpus, folder):
    return write_config(folder / "run.yaml", corpus, folder / "out", per_unit=ARTICLES_PER_SHARD)


def assert_complete(output, expected_keys):
    keys = shard_keys(output)
    assert len(keys) == len(set(keys)), "a sample was written twice"
    assert sorted(keys) == expected_keys
    assert run_to_end("verify", str(output)).strip().endswith("all verified")


def test_losing_a_worker_node_after_the_first_shard_loses_and_repeats_nothing(corpus, single_node_keys, cluster, tmp_path):
    ray_cluster, workers = cluster
    output, config = tmp_path / "out", cluster_run_config(corpus, tmp_path)
    process = figcurate("run", str(config), "--address", ray_cluster.address)
    wait_until(process, lambda: published_shards(output), "published shard")
    ray_cluster.remove_node(workers[0], allow_graceful=False)
    published_before_loss = len(published_shards(output))
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0, out[-3000:]
    assert len([node for node in ray_cluster.list_all_nodes() if node.remaining_processes_alive()]) == 2

    assert_complete(output, single_node_keys)
    print("published before the node was lost:", published_before_loss, "of", len(published_shards(output)))
    assert published_before_loss < len(published_shards(output)), "the node was lost only after the last shard"


def test_a_killed_driver_resumes_against_the_same_cluster(corpus, single_node_keys, cluster, tmp_path):
    ray_cluster, _ = cluster
    output, config = tmp_path / "out", cluster_run_config(corpus, tmp_path)
    kill_when(figcurate("run", str(config), "--address", ray_cluster.address), lambda: finished_units(output), "finished unit")
    finished = finished_units(output)
    print("units finished before the kill:", len(finished))

    run_to_end("run", str(config), "--address", ray_cluster.address)
    stats = json.loads((output / "stats.json").read_text())
    assert stats["resume"]["units_skipped"] >= len(finished)
    assert stats["resume"]["units_run"] > 0, "the driver was killed only after the last unit"
    assert_complete(output, single_node_keys)
