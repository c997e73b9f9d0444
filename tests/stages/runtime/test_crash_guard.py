import subprocess
import sys

from builders import context, figure_row, figure_table

from schemas.records import FIGURE
from stages.runtime.base import Stage, StageSpec
from stages.runtime.crash_guard import CrashGuard


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def plant_inflight(guard: CrashGuard, pid: int, key: str) -> None:
    guard.reap()  # creates the folders
    (guard.directory / "inflight" / f"{guard.host}--{pid}").write_text(key)


def test_dead_workers_record_becomes_one_crash_mark_and_live_ones_are_left(tmp_path):
    guard = CrashGuard(tmp_path, max_crashes=2)
    plant_inflight(guard, dead_pid(), "PMC1v1-f001")
    plant_inflight(guard, 1, "PMC9v1-f009")  # pid 1 is alive
    plant_inflight(guard, dead_pid(), "")  # a worker that ended between records
    guard.reap()
    guard.reap()
    assert guard.crashes("PMC1v1-f001") == 1
    assert guard.crashes("PMC9v1-f009") == 0
    assert (tmp_path / "inflight" / f"{guard.host}--1").exists()
    assert not guard.is_quarantined("PMC1v1-f001")
    plant_inflight(guard, dead_pid(), "PMC1v1-f001")
    guard.reap()
    assert guard.is_quarantined("PMC1v1-f001")


def test_begin_and_end_leave_the_current_key_then_nothing(tmp_path):
    guard = CrashGuard(tmp_path, max_crashes=1)
    guard.reap()
    guard.begin("PMC1v1-f002")
    own = tmp_path / "inflight" / f"{guard.host}--{__import__('os').getpid()}"
    assert own.read_text() == "PMC1v1-f002"
    guard.begin("PMC1v1-f3")  # shorter: blanks over the rest, as reap reads the key stripped
    assert own.read_text().strip() == "PMC1v1-f3"
    guard.end()
    assert own.read_text().strip() == ""


class Passthrough(Stage):
    name = "images"
    output_schema = FIGURE

    def process(self, row):
        yield row


def test_stage_drops_a_quarantined_record_as_worker_crash_and_keeps_the_rest(tmp_path):
    ctx = context().model_copy(update={"scratch_dir": str(tmp_path), "max_worker_crashes": 1})
    stage = Passthrough(StageSpec(), ctx)
    plant_inflight(stage.guard, dead_pid(), "PMC1v1-f002")
    out = {r["figure_index"]: r for r in stage(figure_table([figure_row(1), figure_row(2)])).to_pylist()}
    assert out[1]["drop_reason"] is None
    assert out[2]["drop_reason"] == "worker_crash"
    assert "died 1 times" in out[2]["drop_detail"]
