import json
import time

import pytest

from pipeline.cli import main
from pipeline.progress import (
    PROGRESS,
    STALE_AFTER_S,
    NotAnOutput,
    RunProgress,
    format_duration,
    read_status,
    render_status,
)
from stages.io.output_location import LocalOutput, write_json


def unit_row(unit: int, samples: int, drops: dict) -> dict:
    return {"unit": unit, "samples": samples, "rejects": sum(drops.values()), "drops": json.dumps(drops)}


def progress_file(output: LocalOutput) -> dict:
    return json.loads((output.root / PROGRESS).read_text())


def test_progress_adds_up_units_and_estimates_the_rest_from_the_finished_windows(tmp_path):
    output = LocalOutput(tmp_path)
    progress = RunProgress(output, units_total=8, units_done_before=2, samples_before=40, interval_s=3600)
    progress.started_at = time.time() - 20
    with progress.tracking():
        assert progress_file(output)["state"] == "running"
        progress.windows_started(3)  # two units a window
        progress._window_started_at = time.time() - 20  # the first window takes 20 s
        assert progress.snapshot("running")["eta_s"] is None  # nothing to measure by yet
        progress.unit_finished(unit_row(2, 10, {"image_too_small": 1}))
        progress.unit_finished(unit_row(3, 12, {"image_too_small": 2, "caption_missing": 1}))
        progress.window_finished()  # written now, although the interval has not passed
        running = progress_file(output)
        assert (running["units_done"], running["units_run"], running["samples"], running["samples_this_run"]) == (4, 2, 62, 22)
        assert (running["windows_done"], running["windows_total"]) == (1, 3)
        assert running["drops_this_run"] == {"caption_missing": 1, "image_too_small": 3}
        assert running["eta_s"] == pytest.approx(40, abs=1)  # two windows left at 20 s each
        assert running["samples_per_s"] == pytest.approx(22 / 20, rel=0.05)
        progress._window_started_at = time.time() - 15  # the second window has run 15 of its 20 s
        assert progress.snapshot("running")["eta_s"] == pytest.approx(25, abs=1)
        assert "windows  1 of 3 written this run" in render_status({"name": "r", "fingerprint": "f", **running})
    finished = progress_file(output)
    assert finished["state"] == "finished" and finished["eta_s"] is None


def test_a_failing_run_is_recorded_as_failed_with_its_error_and_the_error_still_raised(tmp_path):
    output = LocalOutput(tmp_path)
    write_json(output, "run.json", {"fingerprint": "f", "config": {"name": "r"}})
    progress = RunProgress(output, units_total=3, units_done_before=0, samples_before=0)
    with pytest.raises(RuntimeError, match="worker lost"), progress.tracking():
        raise RuntimeError("worker lost")
    status = read_status(output)
    assert status["state"] == "failed" and status["error"] == "RuntimeError: worker lost"
    assert "error    RuntimeError: worker lost" in render_status(status)


def test_status_warns_when_a_running_run_has_gone_quiet(tmp_path):
    output = LocalOutput(tmp_path)
    write_json(output, "run.json", {"fingerprint": "f", "config": {"name": "r"}})
    progress = RunProgress(output, units_total=3, units_done_before=0, samples_before=0)
    progress._write("running")
    written = progress_file(output)["updated_at"]
    assert "warning" not in read_status(output, now=written + 60)
    stale = read_status(output, now=written + STALE_AFTER_S + 60)
    assert "may have stopped" in stale["warning"] and "figcurate run" in stale["warning"]


def test_status_of_a_folder_without_a_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(NotAnOutput):
        read_status(LocalOutput(tmp_path))
    assert main(["status", str(tmp_path)]) == 2
    assert "holds no figcurate run" in capsys.readouterr().err


def test_status_of_a_finished_run_agrees_with_its_stats(run_output, capsys):
    output, _, _ = run_output
    stats = json.loads((output / "stats.json").read_text())
    assert main(["status", str(output), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "finished"
    assert status["units_done"] == status["units_total"] == stats["units"]
    assert status["samples"] == stats["samples"]
    assert status["drops_by_reason"] == stats["drops_by_reason"]
    assert main(["status", str(output)]) == 0
    text = capsys.readouterr().out
    assert f"{stats['units']} of {stats['units']} done" in text and f"samples  {stats['samples']} written" in text


@pytest.mark.parametrize(("seconds", "shown"), [(None, "unknown"), (59.6, "1m00s"), (3725, "1h02m")])
def test_durations_read_as_minutes_or_hours(seconds, shown):
    assert format_duration(seconds) == shown
