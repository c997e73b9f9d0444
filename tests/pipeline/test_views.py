"""`figcurate view create` refuses what is not a finished run (a view over real runs is tested in test_pmc_s3_run.py)."""

from pipeline.cli import main


def test_a_view_of_an_unfinished_run_is_refused(tmp_path, capsys):
    (tmp_path / "half").mkdir()
    assert main(["view", "create", str(tmp_path / "view"), "--runs", str(tmp_path / "half")]) == 2
    assert "not a finished run's output" in capsys.readouterr().err
    assert not (tmp_path / "view").exists()


def test_reshard_of_a_run_output_needs_a_subset(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["reshard", str(tmp_path / "run"), "--to", str(tmp_path / "to")]) == 2
    assert "--subset NAME is required" in capsys.readouterr().err


def test_view_commands_refuse_a_folder_that_is_not_a_view(tmp_path, capsys):
    assert main(["view", "urls", str(tmp_path)]) == 2
    assert "not a view (no view.json" in capsys.readouterr().err
    assert main(["view", "cat", str(tmp_path), "/some/shard.tar"]) == 2
    assert "not a view" in capsys.readouterr().err
