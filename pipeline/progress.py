"""Live progress of a run: ``progress.json`` in the output, the log lines, and ``figcurate status``.

The shard writer hands the driver one summary row per finished work unit; ``RunProgress`` adds it
up and rewrites ``progress.json`` (at most every ``interval_s`` seconds, after every window, and at
the end; the ETA is the mean finished window times the windows left), so that
``figcurate status OUT`` answers from one small file, local or on S3, while the run goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.errors import OperatorError
from stages.io.output_location import LocalOutput, S3Output, read_json, write_json

log = logging.getLogger("figcurate.progress")

PROGRESS = "progress.json"
# A run rewrites its progress as work units finish; when a running run has written nothing for this
# long, status warns that it may have stopped (units take minutes, not half an hour).
STALE_AFTER_S = 1800


@dataclass
class RunProgress:
    location: LocalOutput | S3Output
    units_total: int
    units_done_before: int
    samples_before: int
    interval_s: float = 10.0
    started_at: float = field(default_factory=time.time)
    units_run: int = 0
    samples: int = 0
    rejects: int = 0
    drops: Counter = field(default_factory=Counter)
    windows_total: int = 0
    windows_done: int = 0
    _windows_seconds: float = 0.0
    _window_started_at: float = field(default_factory=time.time)
    _written_at: float = 0.0

    @contextlib.contextmanager
    def tracking(self) -> Iterator[RunProgress]:
        """Marks the run running, then finished, or failed with the error that ended it."""
        self._write("running")
        try:
            yield self
        except BaseException as error:
            self._write("failed", f"{type(error).__name__}: {str(error).strip()[:500]}")
            raise
        self._write("finished")

    def unit_finished(self, row: dict) -> None:
        self.units_run += 1
        self.samples += row["samples"]
        self.rejects += row["rejects"]
        self.drops.update(json.loads(row["drops"]))
        snapshot = self.snapshot("running")
        log.info(
            "unit %d finished: %d of %d units done, %d samples, %.1f samples/s, ETA %s",
            row["unit"], snapshot["units_done"], self.units_total, snapshot["samples"], snapshot["samples_per_s"],
            format_duration(snapshot["eta_s"]),
            extra={"event": "unit_finished", "unit": row["unit"], **{k: snapshot[k] for k in ("units_done", "units_total", "samples", "samples_per_s", "eta_s")}},
        )  # fmt: skip
        if time.time() - self._written_at >= self.interval_s or snapshot["units_done"] == self.units_total:
            self._write("running")

    def windows_started(self, windows: int) -> None:
        self.windows_total = windows
        self._window_started_at = time.time()

    def window_finished(self) -> None:
        """A window's units are all published: written out at once, and the ETA's measure."""
        now = time.time()
        self.windows_done += 1
        self._windows_seconds += now - self._window_started_at
        self._window_started_at = now
        self._write("running")

    def _eta_s(self, now: float) -> float | None:
        """The mean finished window times the windows left, less what the current one has run."""
        if not self.windows_done:
            return None
        per_window = self._windows_seconds / self.windows_done
        left = per_window * (self.windows_total - self.windows_done) - (now - self._window_started_at)
        return round(max(left, 0.0), 1)

    def snapshot(self, state: str, error: str | None = None) -> dict:
        now = time.time()
        elapsed = now - self.started_at
        return {
            "state": state,
            "error": error,
            "started_at": self.started_at,
            "updated_at": now,
            "elapsed_s": round(elapsed, 1),
            "units_total": self.units_total,
            "units_done": self.units_done_before + self.units_run,
            "units_done_before": self.units_done_before,
            "units_run": self.units_run,
            "samples": self.samples_before + self.samples,
            "samples_this_run": self.samples,
            "rejects_this_run": self.rejects,
            "samples_per_s": round(self.samples / elapsed, 2) if elapsed > 0 else 0.0,
            "windows_total": self.windows_total,
            "windows_done": self.windows_done,
            "eta_s": self._eta_s(now) if state == "running" else None,
            "drops_this_run": dict(sorted(self.drops.items())),
        }

    def _write(self, state: str, error: str | None = None) -> None:
        try:
            write_json(self.location, PROGRESS, self.snapshot(state, error))
            self._written_at = time.time()
        except OSError as problem:  # progress is an aid: a full disk or a flaky S3 write must not stop the run
            log.warning("could not write %s: %s", PROGRESS, problem)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


class NotAnOutput(OperatorError):
    pass


def read_status(location: LocalOutput | S3Output, now: float | None = None) -> dict:
    """What ``figcurate status`` shows: the run's progress, with a warning when it looks stopped."""
    run = read_json(location, "run.json")
    progress = read_json(location, PROGRESS)
    if run is None or progress is None:
        raise NotAnOutput(f"{location} holds no figcurate run (no run.json and {PROGRESS}); is it the output folder of `figcurate run`?")
    status = {"name": run.get("config", {}).get("name"), "fingerprint": run.get("fingerprint"), **progress}
    stats = read_json(location, "stats.json") if progress["state"] == "finished" else None
    if stats is not None:
        status["drops_by_reason"] = stats["drops_by_reason"]
    quiet = (now or time.time()) - progress["updated_at"]
    if progress["state"] == "running" and quiet > STALE_AFTER_S:
        status["warning"] = (
            f"no progress written for {format_duration(quiet)}: the run may have stopped; "
            "run the same `figcurate run` command again to resume it"
        )
    return status


def render_status(status: dict) -> str:
    lines = [
        f"run {status['name']!r} ({status['fingerprint']}): {status['state']}",
        f"  units    {status['units_done']} of {status['units_total']} done"
        + (f" ({status['units_done_before']} by an earlier run)" if status["units_done_before"] else ""),
        f"  samples  {status['samples']:,} written ({status['samples_this_run']:,} this run), rejects this run {status['rejects_this_run']:,}",
        f"  rate     {status['samples_per_s']} samples/s over {format_duration(status['elapsed_s'])}",
    ]
    if status.get("windows_total"):
        lines.append(f"  windows  {status['windows_done']} of {status['windows_total']} written this run")
    if status["state"] == "running":
        lines.append(f"  ETA      {format_duration(status['eta_s'])}")
    drops = status.get("drops_by_reason") or status["drops_this_run"]
    if drops:
        top = sorted(drops.items(), key=lambda item: -item[1])
        lines.append("  drops    " + ", ".join(f"{reason} {n:,}" for reason, n in top))
    if status.get("error"):
        lines.append(f"  error    {status['error']}")
    if status.get("warning"):
        lines.append(f"  warning  {status['warning']}")
    return "\n".join(lines)
