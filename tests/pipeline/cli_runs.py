"""`figcurate` runs as real processes, and what the tests read back from their output."""

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from pipeline.demo_corpus import load_truth
from schemas.keys import sample_key

RUN_TIMEOUT_S = 300


def write_config(
    path: Path, corpus: Path, output: Path, per_unit: int, chaos: dict | None = None, window_units: int = 16, **stages: dict
) -> Path:
    config = {
        "name": "faults",
        "source": {"kind": "local", "root": str(corpus)},
        "output": {"path": str(output), "articles_per_shard": per_unit, "window_units": window_units},
        "ray": {"num_cpus": 2},
        "stages": {
            "images": {"max_side": 128, "batch_size": 4},
            "filters": {"min_side": 16},  # figures are shrunk to 128 px here; keep the thin ones
            # figure-level samples, so that the truth's figure keys are the expected keys
            "subfigures": {"enabled": False},
            "subcaptions": {"enabled": False},
            **({"chaos": chaos} if chaos else {}),
            **stages,
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
            keys += [m.name.split(".", 1)[0] for m in tar if m.name.split(".", 1)[1] == "txt"]  # not .recap.txt
    return keys


def live_keys(corpus: Path) -> list[str]:
    articles, figures = load_truth(corpus)
    broken = {(a["pmcid"], a["version"]) for a in articles if a["expected_drop"]}
    return sorted(
        sample_key(f["pmcid"], f["version"], f["figure_index"])
        for f in figures
        if f["newest"] and not f["expected_drop"] and (f["pmcid"], f["version"]) not in broken
    )




def wait_until(process: subprocess.Popen, ready, what: str) -> None:
    """Poll ``ready()`` while ``process`` runs; fail if it ends first or RUN_TIMEOUT_S passes."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline and not ready():
        time.sleep(0.02)
    assert process.poll() is None, f"the run ended before {what}: {process.communicate()[0][-3000:]}"
    assert ready(), f"no {what} within {RUN_TIMEOUT_S} s"


def finished_units(output: Path) -> set[str]:
    units = output / "units"
    return {p.stem for p in units.iterdir() if p.suffix == ".json"} if units.is_dir() else set()


def published_shards(output: Path) -> list[Path]:
    shards = output / "shards"
    return sorted(shards.glob("*.tar")) if shards.is_dir() else []


def kill_when(process: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL the run (no cleanup of any kind) as soon as ``ready()`` holds."""
    wait_until(process, ready, what)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
