from pathlib import Path

import pytest

from pipeline.config import RunConfig
from pipeline.runner import OutputExistsError, prepare_output


def test_prepare_output_refuses_a_previous_run_and_overwrite_removes_only_managed_paths(tmp_path):
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "000000.tar").write_bytes(b"x")
    (out / "stats.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"already holds a run \(shards, stats.json\)"):
        prepare_output(out, overwrite=False)
    prepare_output(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_prepare_output_creates_folder_and_rejects_a_file(tmp_path):
    prepare_output(tmp_path / "new" / "out", overwrite=False)
    assert (tmp_path / "new" / "out").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputExistsError, match="not a folder"):
        prepare_output(tmp_path / "file", overwrite=True)


def test_cli_overrides_replace_output_and_address(tmp_path):
    (tmp_path / "metadata").mkdir()
    config = RunConfig.model_validate({"source": {"root": str(tmp_path)}, "output": {"path": "a"}})
    changed = config.with_overrides(output=Path("b"), address="auto")
    assert (changed.output.path, changed.ray.address) == (Path("b"), "auto")
    assert (config.output.path, config.ray.address) == (Path("a"), None)
    assert config.with_overrides() == config
