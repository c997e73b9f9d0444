"""Stage ``chaos``: deliberate worker deaths, for resilience tests and operator drills.

Disabled (and so absent from the plan) unless a config enables it. For listed record keys it
ends the worker process abruptly with ``os._exit``, as a segfault or an OOM kill would:
``crash_once`` keys only the first time any worker sees them (remembered by a marker file in
``marker_dir``), ``crash_always`` keys every time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field

from stages.runtime.base import Row, Stage, StageSpec, record_key

EXIT_CODE = 137


class ChaosSpec(StageSpec):
    enabled: bool = False
    crash_once: list[str] = Field(default_factory=list, description="record keys whose first visit kills the worker")
    crash_always: list[str] = Field(default_factory=list, description="record keys that kill the worker on every visit")
    marker_dir: str | None = Field(None, description="folder shared by the workers that remembers first visits")


class Chaos(Stage):
    name = "chaos"
    spec_type = ChaosSpec
    output_schema = None  # passes records through with whatever columns they have
    optional = True

    def process(self, row: Row) -> Iterable[Row]:
        key = record_key(row)
        if key in self.spec.crash_always:
            os._exit(EXIT_CODE)
        if key in self.spec.crash_once and self.spec.marker_dir:
            marker = Path(self.spec.marker_dir) / key
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch(exist_ok=False)
            except FileExistsError:
                pass
            else:
                os._exit(EXIT_CODE)
        yield row
