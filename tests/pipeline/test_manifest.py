import json

import pytest

from pipeline.cli import main
from pipeline.manifest import UnfinishedOutput, finished_manifest


def test_finished_manifest_is_read_and_an_unfinished_run_is_refused(tmp_path):
    with pytest.raises(UnfinishedOutput, match="has no manifest.json: finish the run first"):
        finished_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"fingerprint": "f", "samples": 0, "shards": []}))
    assert finished_manifest(tmp_path)["fingerprint"] == "f"


@pytest.mark.parametrize(
    "command",
    [["subset", "{output}", "--where", "true", "--name", "all"], ["export", "llava", "{output}", "{output}/llava"]],
    ids=["subset", "export"],
)
def test_commands_on_an_unfinished_run_say_so_in_one_line(tmp_path, capsys, command):
    (tmp_path / "index").mkdir()
    assert main([part.format(output=tmp_path) for part in command]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} has no manifest.json: finish the run first" in err and "Traceback" not in err
    assert not (tmp_path / "subsets").exists() and not (tmp_path / "llava").exists()
