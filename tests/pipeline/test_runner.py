import json
from pathlib import Path

import pytest

from pipeline.config import RunConfig
from pipeline.runner import OutputExistsError, prepare_output
from pipeline.units import fingerprint, fingerprint_inputs
from stages.io.output_location import LocalOutput

INPUTS = {"source": {"root": "/m"}, "stages": {"images": {"max_side": 512}}}


def previous_run(out: Path, inputs: dict) -> None:
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "000000.tar").write_bytes(b"x")
    (out / "notes.txt").write_text("mine")
    (out / "run.json").write_text(json.dumps({"fingerprint": fingerprint(inputs), "fingerprint_inputs": inputs}))


def test_same_settings_resume_and_changed_settings_are_refused_naming_the_change(tmp_path):
    out = tmp_path / "out"
    previous_run(out, INPUTS)
    assert prepare_output(LocalOutput(out), INPUTS, overwrite=False) is True
    assert (out / "shards" / "000000.tar").exists()
    changed = {**INPUTS, "stages": {"images": {"max_side": 256}}}
    with pytest.raises(OutputExistsError, match=r"different settings \(changed: stages.images.max_side\)"):
        prepare_output(LocalOutput(out), changed, overwrite=False)


def test_overwrite_removes_only_managed_paths(tmp_path):
    out = tmp_path / "out"
    previous_run(out, INPUTS)
    assert prepare_output(LocalOutput(out), {"other": 1}, overwrite=True) is False
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_unknown_files_without_run_record_are_refused(tmp_path):
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    with pytest.raises(OutputExistsError, match="unknown run"):
        prepare_output(LocalOutput(out), INPUTS, overwrite=False)


def test_prepare_output_creates_folder_and_rejects_a_file(tmp_path):
    assert prepare_output(LocalOutput(tmp_path / "new" / "out"), INPUTS, overwrite=False) is False
    assert (tmp_path / "new" / "out").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputExistsError, match="not a folder"):
        prepare_output(LocalOutput(tmp_path / "file"), INPUTS, overwrite=True)


def test_fingerprint_ignores_resources_and_paths_but_not_parameters(tmp_path):
    (tmp_path / "metadata").mkdir()
    base = {"source": {"root": str(tmp_path)}, "output": {"path": "a"}}
    config = RunConfig.model_validate(base)
    faster = RunConfig.model_validate({**base, "output": {"path": "b"}, "stages": {"images": {"num_cpus": 2, "batch_size": 64}}})
    different = RunConfig.model_validate({**base, "stages": {"images": {"jpeg_quality": 80}}})
    resplit = RunConfig.model_validate({**base, "output": {"path": "a", "splits": {"train": 0.5, "test": 0.5}}})
    assert fingerprint(fingerprint_inputs(config)) == fingerprint(fingerprint_inputs(faster))
    assert fingerprint(fingerprint_inputs(config)) != fingerprint(fingerprint_inputs(different))
    assert fingerprint(fingerprint_inputs(config)) != fingerprint(fingerprint_inputs(resplit))


def test_cli_overrides_replace_output_and_address(tmp_path):
    (tmp_path / "metadata").mkdir()
    config = RunConfig.model_validate({"source": {"root": str(tmp_path)}, "output": {"path": "a"}})
    changed = config.with_overrides(output=Path("b"), address="auto")
    assert (changed.output.path, changed.ray.address) == ("b", "auto")
    assert (config.output.path, config.ray.address) == ("a", None)
    assert changed.output.target().uri == str(Path("b").resolve())
    assert config.with_overrides() == config


def test_since_on_a_local_mirror_takes_only_changed_metadata(tmp_path):
    import hashlib

    from pipeline.incremental import changed_since
    from stages.io.source_local import list_article_versions

    (tmp_path / "metadata").mkdir()
    for n in (1, 2, 3):
        (tmp_path / "metadata" / f"PMC{n}.1.json").write_text(json.dumps({"n": n}))
    before = {(v.pmcid, v.version): {"etag": v.etag} for v in list_article_versions(tmp_path)}
    assert before[("PMC2", 1)]["etag"] == hashlib.md5(json.dumps({"n": 2}).encode()).hexdigest()
    (tmp_path / "metadata" / "PMC2.1.json").write_text(json.dumps({"n": 2, "is_retracted": True}))
    (tmp_path / "metadata" / "PMC4.1.json").write_text("{}")
    changed = changed_since(list_article_versions(tmp_path), before)
    assert [v.prefix for v in changed] == ["PMC2.1", "PMC4.1"]


def test_the_executor_polls_for_finished_tasks_every_task_poll_s():
    import inspect

    from ray.data._internal.execution import streaming_executor_state

    from pipeline.runner import TASK_POLL_S, poll_tasks_promptly

    poll_tasks_promptly()
    assert streaming_executor_state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S == TASK_POLL_S
    # the executor reads the module's value at each wait, so setting it takes effect
    assert "timeout=WAIT_FOR_TASK_COMPLETION_TIMEOUT_S" in inspect.getsource(streaming_executor_state.process_completed_tasks)
