"""Faults with real processes: a killed driver, workers that die once, a record that kills every time.

Every run here is a separate `figcurate run` process with its own local Ray instance, so that
killing and dying are real and nothing leaks into the test process.
"""

import json
import os
import random
import time
from pathlib import Path

import pyarrow.dataset as pads
import pytest
from cli_runs import RUN_TIMEOUT_S, figcurate, finished_units, kill_when, live_keys, run_to_end, shard_keys, wait_until, write_config

from pipeline.demo_corpus import generate_corpus

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fault-corpus")
    generate_corpus(root, articles=24, seed=11)
    return root


def test_killed_driver_then_rerun_gives_exactly_the_clean_samples_and_keeps_finished_shards(corpus, tmp_path):
    seed = int(os.environ.get("FIGCURATE_FAULT_SEED", random.randrange(1 << 30)))
    wait_for_units = random.Random(seed).randint(1, 4)
    output = tmp_path / "out"
    config = write_config(tmp_path / "run.yaml", corpus, output, per_unit=1)

    kill_when(figcurate("run", str(config)), lambda: len(finished_units(output)) >= wait_for_units, f"{wait_for_units} finished units (seed {seed})")
    finished = finished_units(output)
    assert finished, f"seed {seed}"
    kept = {name: (output / "shards" / f"{name}.tar") for name in finished}
    before = {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in kept.items()}
    assert not (output / "manifest.json").exists()
    during = json.loads(run_to_end("status", str(output), "--json"))
    assert during["state"] == "running" and during["units_done"] <= len(finished), during  # killed, so never marked finished

    out = run_to_end("run", str(config))
    stats = json.loads((output / "stats.json").read_text())
    assert stats["resume"]["units_skipped"] >= len(finished), f"seed {seed}: {out[-2000:]}"
    assert during["units_total"] == stats["units"]
    keys = shard_keys(output)
    assert len(keys) == len(set(keys)), f"duplicate keys (seed {seed})"
    assert sorted(keys) == live_keys(corpus), f"seed {seed}"
    assert {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in kept.items()} == before
    assert run_to_end("verify", str(output)).strip().endswith("all verified")


def test_workers_dying_once_are_retried_without_duplicates(corpus, tmp_path):
    victims = live_keys(corpus)[2:5]
    output = tmp_path / "out"
    chaos = {"enabled": True, "crash_once": victims, "marker_dir": str(tmp_path / "markers")}
    run_to_end("run", str(write_config(tmp_path / "run.yaml", corpus, output, per_unit=4, chaos=chaos)))
    assert sorted((tmp_path / "markers").iterdir()) == sorted(tmp_path / "markers" / key for key in victims)
    keys = shard_keys(output)
    assert len(keys) == len(set(keys))
    assert sorted(keys) == live_keys(corpus)
    rejects = pads.dataset(output / "rejects", format="parquet").to_table()
    assert "worker_crash" not in rejects.column("reason").to_pylist()


def test_poison_record_is_quarantined_and_named_in_rejects(corpus, tmp_path):
    poison = live_keys(corpus)[3]
    output = tmp_path / "out"
    chaos = {"enabled": True, "crash_always": [poison]}
    started = time.monotonic()
    run_to_end("run", str(write_config(tmp_path / "run.yaml", corpus, output, per_unit=4, chaos=chaos)))
    assert time.monotonic() - started < RUN_TIMEOUT_S
    keys = shard_keys(output)
    assert sorted(keys) == sorted(set(live_keys(corpus)) - {poison})
    rejects = pads.dataset(output / "rejects", format="parquet").to_table().to_pylist()
    (quarantined,) = [r for r in rejects if r["reason"] == "worker_crash"]
    assert (quarantined["key"], quarantined["stage"]) == (poison, "chaos")
    assert "quarantined" in quarantined["detail"]


def test_a_driver_killed_while_the_llm_stage_runs_keeps_its_finished_windows(corpus, tmp_path):
    """The llm stage on CPU is the slowest stage; windows of two units are published while it is still
    far from the end, `figcurate status` shows them, and a rerun after SIGKILL skips exactly those and
    ends with the samples of a clean run in one window."""
    llm = {
        "enabled": True, "model": str(REPO / "configs" / "models" / "tiny-llama"), "allow_untrained": True,
        "tasks": ["recaption"], "max_text_chars": 24, "max_new_tokens": 60, "batch_size": 4, "concurrency": 1,
    }  # fmt: skip
    clean_output, output = tmp_path / "clean", tmp_path / "out"
    run_to_end("run", str(write_config(tmp_path / "clean.yaml", corpus, clean_output, per_unit=4, llm=llm)))
    units_total = len(finished_units(clean_output))
    assert units_total >= 5

    config = write_config(tmp_path / "run.yaml", corpus, output, per_unit=4, window_units=2, llm=llm)
    process = figcurate("run", str(config))
    wait_until(process, lambda: len(finished_units(output)) >= 2, "a finished window")
    status = json.loads(run_to_end("status", str(output), "--json"))
    kill_when(process, lambda: True, "the kill")
    finished = finished_units(output)
    assert status["state"] == "running" and 1 <= status["units_done"] <= len(finished) < units_total
    assert status["windows_done"] >= 1 and status["windows_total"] == -(-units_total // 2)

    run_to_end("run", str(config))
    stats = json.loads((output / "stats.json").read_text())
    assert stats["resume"]["units_skipped"] == len(finished)
    keys = shard_keys(output)
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(shard_keys(clean_output))
    assert run_to_end("verify", str(output)).strip().endswith("all verified")
