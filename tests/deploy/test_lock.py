"""The install lock: it covers what pyproject.toml asks for, the sets agree, and this environment obeys it."""

import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from deploy.lock.lock import drift, installed, normalise, read_lock

REPO = Path(__file__).resolve().parents[2]
LOCKS = REPO / "deploy" / "lock"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def requirements(*extras: str) -> list[Requirement]:
    listed = PROJECT["dependencies"] + [line for extra in extras for line in PROJECT["optional-dependencies"][extra]]
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize(("lock_name", "extras"), [("demo", ()), ("test", ("test",)), ("test", ("llm",))])
def test_every_requirement_of_pyproject_is_locked_inside_its_range(lock_name, extras):
    """Fails when pyproject.toml changed without `make lock`."""
    lock = read_lock(LOCKS / f"{lock_name}.txt")
    for requirement in requirements(*extras):
        name = normalise(requirement.name)
        assert name in lock, f"{name} is not in {lock_name}.txt: run `make lock`"
        assert requirement.specifier.contains(lock[name], prereleases=True), f"{name}=={lock[name]} is outside {requirement}: run `make lock`"


def test_the_demo_set_is_the_test_sets_versions():
    demo, test = read_lock(LOCKS / "demo.txt"), read_lock(LOCKS / "test.txt")
    assert set(demo) < set(test)
    assert {name: test[name] for name in demo} == demo


def test_drift_names_a_changed_version_and_an_unlocked_package_only():
    lock = {"numpy": "1.26.4", "pip": "25.0"}
    present = {"numpy": "1.26.5", "left-pad": "1.0", "figcurate": "0.1.0", "setuptools": "65.5.0", "pip": "25.0"}
    assert drift(lock, present) == ["left-pad 1.0 is installed but not in the lock", "numpy is 1.26.5, the lock says 1.26.4"]
    assert drift(lock, {"numpy": "1.26.4", "pip": "25.0"}) == []


def test_this_environment_is_what_the_test_lock_names():
    """What `make test` installed (the check after its pip install, asserted again where the suite runs)."""
    if not (REPO / ".venv").exists() or Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        pytest.skip("the suite is not running in the project's .venv (`make test` makes it)")
    assert drift(read_lock(LOCKS / "test.txt"), installed(sys.executable)) == []
