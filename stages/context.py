"""What every stage worker needs to know about the run besides its own spec (picklable)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from stages.storage import LocalStore


class StageContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_root: str
    max_object_bytes: int = 256 * 1024 * 1024
    # Shared scratch folder for crash quarantine (see stages/crash_guard.py); None turns it off.
    scratch_dir: str | None = None
    max_worker_crashes: int = 2

    def store(self) -> LocalStore:
        return LocalStore(self.source_root)
