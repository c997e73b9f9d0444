"""Faults with real processes: a killed driver, workers that die once, a record that kills every time.

Every run here is a separate `figcurate run` process with its own local Ray instance, so that
killing and dying are real and nothing leaks into the test process.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from pipeline.demo_corpus import generate_corpus, load_truth
from schemas.keys import sample_key

pytestmark = pytest.mark.slow
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fault-corpus")
    generate_corpus(root, articles=24, seed=11)
    return root


def write_config(path: Path, corpus: Path, output: Path, per_unit: int, chaos: dict | None = None) -> Path:
    config = {
        "name": "faults",
        "source": {"kind": "local", "root": str(corpus)},
        "output": {"path": str(output), "articles_per_shard": per_unit},
        "ray": {"num_cpus": 2},
        "stages": {
            "images": {"max_side": 128, "batch_size": 4},
            "filters": {"min_side": 16},  # figures are shrunk to 128 px here; keep the thin ones
            # figure-level samples, so that the truth's figure keys are the expected keys
            "subfigures": {"enabled": False},
            "subcaptions": {"enabled": False},
            **({"chaos": chaos} if chaos else {}),
        },
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def figcurate(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )


def run_to_end(*args: str) -> str:
    process = figcurate(*args)
    out, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, out[-3000:]
    return out


def shard_keys(output: Path) -> list[str]:
    keys = []
    for shard in sorted((output / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            keys += [m.name.split(".", 1)[0] for m in tar if m.name.endswith(".txt")]
    return keys


def live_keys(corpus: Path) -> list[str]:
    articles, figures = load_truth(corpus)
    broken = {(a["pmcid"], a["version"]) for a in articles if a["expected_drop"]}
    return sorted(
        sample_key(f["pmcid"], f["version"], f["figure_index"])
        for f in figures
        if f["newest"] and not f["expected_drop"] and (f["pmcid"], f["version"]) not in broken
    )


def test_killed_driver_then_rerun_gives_exactly_the_clean_samples_and_keeps_finished_shards(corpus, tmp_path):
    seed = int(os.environ.get("FIGCURATE_FAULT_SEED", random.randrange(1 << 30)))
    wait_for_units = random.Random(seed).randint(1, 4)
    output = tmp_path / "out"
    config = write_config(tmp_path / "run.yaml", corpus, output, per_unit=1)

    process = figcurate("run", str(config))
    deadline = time.monotonic() + RUN_TIMEOUT_S
    units = output / "units"
    while process.poll() is None and time.monotonic() < deadline:
        if units.is_dir() and len(list(units.iterdir())) >= wait_for_units:
            break
        time.sleep(0.02)
    assert process.poll() is None, f"run ended before the kill (seed {seed})"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem for p in units.iterdir() if p.suffix == ".json"}
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
