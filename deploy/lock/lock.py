"""Write and check the install locks: every package of each install set at an exact version.

    python3.11 deploy/lock/lock.py write          # `make lock`: resolve pyproject.toml's ranges anew
    python3.11 deploy/lock/lock.py check SET PY   # is every package in PY's environment at SET's version?

`write` asks pip to resolve each install set from pyproject.toml (`pip install --dry-run --report`,
nothing is installed) and writes one constraints file per set: ``test`` first, then ``demo`` and
``vllm`` constrained by it, so a package shared by the sets has the version the suite ran with.
pip resolves for the machine it runs on (Linux x86_64, CPython 3.11) and takes torch and torchvision
from the wheels on disk, as the installs do. Installs read the files with ``pip install -c``.

Standard library only: it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

LOCK_DIR = Path(__file__).resolve().parent
ROOT = LOCK_DIR.parents[1]
PROJECT = "figcurate"
# (name, what pip installs, the lock whose versions it must keep); the order is the resolution order.
SETS = [
    ("test", ".[test]", None),
    ("demo", ".", "test"),
    ("vllm", ".[vllm]", "test"),
]
# Sets whose failure to resolve is reported, not fatal: the GPU extra.
OPTIONAL = {"vllm"}
# Installed into every venv by venv itself; checked only where the lock names them.
BOOTSTRAP = {"pip", "setuptools", "wheel"}
HEADER = """\
# figcurate install lock: {name} set (pip install -c deploy/lock/{name}.txt -e '{target}')
# Written by `make lock` from pyproject.toml's ranges; do not edit by hand.
# Resolved for Linux x86_64, CPython 3.11, with torch and torchvision from the machine's wheels.
"""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(target: str, constraints: Path | None) -> dict[str, str]:
    """{normalised name: version} of everything pip would install for ``target`` in an empty environment."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--report", str(report), target]  # fmt: skip
        if constraints is not None:
            command += ["-c", str(constraints)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            said = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("WARNING:"))
            raise SystemExit(f"pip could not resolve {target!r}:\n{said[-4000:]}")
        installs = json.loads(report.read_text())["install"]
    pins = {normalise(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    pins.pop(PROJECT, None)
    return pins


def read_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = version.strip()
    return pins


def write_lock(name: str, target: str, pins: dict[str, str]) -> Path:
    path = LOCK_DIR / f"{name}.txt"
    lines = [f"{package}=={pins[package]}" for package in sorted(pins)]
    path.write_text(HEADER.format(name=name, target=target) + "\n".join(lines) + "\n")
    return path


def write_all(only: list[str]) -> None:
    for name, target, base in SETS:
        if only and name not in only:
            continue
        try:
            pins = resolve(target, LOCK_DIR / f"{base}.txt" if base else None)
        except SystemExit as error:
            if name not in OPTIONAL:
                raise
            # vLLM 0.29 needs numpy 2 and torch 2.13, the project numpy<2 and torch 2.14.1: pip finds
            # no vllm set today. Say so, and write (or keep) nothing that would pretend otherwise.
            stale = LOCK_DIR / f"{name}.txt"
            stale.unlink(missing_ok=True)
            print(f"lock: no {name} set: {error}", file=sys.stderr)
            continue
        print(f"lock: {write_lock(name, target, pins).relative_to(ROOT)}: {len(pins)} packages")


def installed(python: str) -> dict[str, str]:
    script = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    found = json.loads(subprocess.run([python, "-c", script], capture_output=True, text=True, check=True).stdout)
    return {normalise(name): version for name, version in found.items()}


def drift(lock: dict[str, str], present: dict[str, str]) -> list[str]:
    """What differs between a lock and an environment, one line each (empty when they agree)."""
    problems = []
    for package, version in sorted(present.items()):
        if package == PROJECT or (package in BOOTSTRAP and package not in lock):
            continue
        if package not in lock:
            problems.append(f"{package} {version} is installed but not in the lock")
        elif lock[package] != version:
            problems.append(f"{package} is {version}, the lock says {lock[package]}")
    return problems


def check(name: str, python: str) -> int:
    """Every package at ``name``'s version; one that ``name`` does not name must be at another set's
    (a venv made by `make test` also serves `make demo`)."""
    lock = {}
    for other, _, _ in reversed(SETS):
        path = LOCK_DIR / f"{other}.txt"
        if other != name and path.exists():
            lock.update(read_lock(path))
    lock.update(read_lock(LOCK_DIR / f"{name}.txt"))
    problems = drift(lock, installed(python))
    for line in problems:
        print(f"lock: {line}", file=sys.stderr)
    if problems:
        print(f"lock: the environment of {python} does not match deploy/lock/{name}.txt; "
              "run `make lock` if pyproject.toml changed, or remove .venv and install again", file=sys.stderr)  # fmt: skip
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="resolve every install set from pyproject.toml and write its lock")
    write.add_argument("sets", nargs="*", metavar="SET", help="only these sets (default: all)")
    checking = commands.add_parser("check", help="compare an environment with a lock")
    checking.add_argument("set", choices=[name for name, _, _ in SETS])
    checking.add_argument("python", help="the environment's python")
    args = parser.parse_args(argv)
    if args.command == "write":
        unknown = set(args.sets) - {name for name, _, _ in SETS}
        if unknown:
            parser.error(f"unknown set(s) {sorted(unknown)}; the sets are {[name for name, _, _ in SETS]}")
        write_all(args.sets)
        return 0
    return check(args.set, args.python)


if __name__ == "__main__":
    sys.exit(main())
