"""Quarantine for records that kill their worker process.

Ray retries a task whose worker died (segfault, OOM kill, ``os._exit``), and Ray Data retries
without limit, so a record that always kills its worker would stall a run forever. Each worker
therefore writes the key of the record it is about to process into its own small in-flight file.
When a later batch starts (in any worker on the same host), in-flight files of processes that no
longer exist are claimed: each becomes one crash mark for the record it names. A record with
``max_crashes`` marks is not processed again; the stage records it as a ``worker_crash`` drop.

Files live under a scratch folder shared by the workers of a host (the output folder locally);
claiming uses an atomic rename, so two workers never count the same crash twice.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_INFLIGHT = "inflight"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CrashGuard:
    def __init__(self, directory: Path, max_crashes: int):
        self.directory = Path(directory)
        self.max_crashes = max_crashes
        self.host = socket.gethostname()
        self._fd: int | None = None
        self._written = 0  # bytes the in-flight file holds (a key, or blanks where none is in flight)
        self._file_checked = False
        self._quarantined: set[str] = set()

    def _own_file(self) -> Path:
        return self.directory / _INFLIGHT / f"{self.host}--{os.getpid()}"

    def reap(self) -> None:
        """Turn in-flight files of dead processes on this host into crash marks (once per batch)."""
        # Made each time: a worker outlives runs, and a new run may have removed the folder.
        (self.directory / _INFLIGHT).mkdir(parents=True, exist_ok=True)
        (self.directory / "crashes").mkdir(parents=True, exist_ok=True)
        self._file_checked = False
        for path in (self.directory / _INFLIGHT).iterdir():
            host, _, pid = path.name.partition("--")
            if host != self.host or not pid.isdigit() or _alive(int(pid)):
                continue
            claimed = path.with_name(f".claimed-{path.name}-{os.getpid()}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            key = claimed.read_text().strip()
            if key:
                marks = self.directory / "crashes" / key
                marks.mkdir(exist_ok=True)
                (marks / f"{host}--{pid}").touch()
            claimed.unlink()
        # Decided once a batch: marks are only made here, and a record marked by another worker
        # meanwhile is at worst processed once more (and marked once more).
        self._quarantined = {marks.name for marks in (self.directory / "crashes").iterdir() if self.crashes(marks.name) >= self.max_crashes}

    def crashes(self, key: str) -> int:
        marks = self.directory / "crashes" / key
        return sum(1 for _ in marks.iterdir()) if marks.is_dir() else 0

    def is_quarantined(self, key: str) -> bool:
        """Whether ``key`` had ``max_crashes`` marks when this batch began (``reap``)."""
        return key in self._quarantined

    def begin(self, key: str) -> None:
        if not self._file_checked:  # once a batch: a new run may have removed the folder
            if self._fd is None or not self._own_file().exists():
                if self._fd is not None:
                    os.close(self._fd)
                self._fd = os.open(self._own_file(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                self._written = 0
            self._file_checked = True
        self._write(key.encode())

    def end(self) -> None:
        if self._fd is not None:
            self._write(b"")

    def _write(self, data: bytes) -> None:
        """One write a record: the key padded with blanks over what the file held (read back stripped)."""
        os.pwrite(self._fd, data.ljust(self._written), 0)
        self._written = max(self._written, len(data))
