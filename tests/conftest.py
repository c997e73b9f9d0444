import os

import pytest

# Quiet, small, deterministic Ray for tests: no dashboard, no usage stats, 2 CPUs like CI.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session")
def ray_local():
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=300 * 1024 * 1024, log_to_driver=False)
    yield ray
    ray.shutdown()
