"""Running the PDF worker as a child process under a wall-clock limit, and reading its answer.

A subprocess (not fork) gives the worker a fresh interpreter: no copied Ray or thread state, and a
crash, hang or memory blow-up in MuPDF ends there. The worker bounds its own memory (RLIMIT_AS);
the caller kills it at ``timeout_s`` and always reaps it, so no child outlives a call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .limits import PdfError, PdfLimits
from .protocol import ProtocolError, pack, unpack

_PROJECT_ROOT = Path(__file__).resolve().parents[3]  # holds the stages package


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _stderr_tail(stderr: bytes) -> str:
    return stderr.decode("utf-8", "replace").strip()[-300:]


def _death_reason(returncode: int, stderr: bytes) -> PdfError:
    if returncode == -signal.SIGKILL:
        # Only the caller kills for time, and that is reported before we get here: this SIGKILL came
        # from the kernel's OOM killer (a cgroup or machine limit, not our RLIMIT_AS).
        return PdfError("pdf_out_of_memory", "the PDF worker was killed by SIGKILL (OOM killer)")
    if returncode == -signal.SIGXCPU:
        return PdfError("pdf_timeout", "the PDF worker ran out of its CPU-time limit")
    if b"MemoryError" in stderr:
        return PdfError("pdf_out_of_memory", _stderr_tail(stderr))
    how = f"signal {signal.Signals(-returncode).name}" if returncode < 0 else f"exit status {returncode}"
    return PdfError("pdf_unreadable", f"the PDF worker died ({how}): {_stderr_tail(stderr)}")


def run_worker(pdf_bytes: bytes, labels: list[str], limits: PdfLimits) -> tuple[list[dict], list[bytes]]:
    """The worker's figures (dicts) and their PNGs; a PdfError for any failure of the PDF."""
    request = pack({"labels": labels, "limits": limits.model_dump()}, [pdf_bytes])
    process = subprocess.Popen(
        [sys.executable, "-m", "stages.fetch_media.pdf_figures.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_worker_env(),
        close_fds=True,
    )
    try:
        stdout, stderr = process.communicate(request, timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise PdfError("pdf_timeout", f"the PDF worker ran longer than timeout_s={limits.timeout_s} and was killed") from None
    finally:
        if process.poll() is None:  # an exception (KeyboardInterrupt, ...) left it running
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise _death_reason(process.returncode, stderr)
    try:
        header, blobs = unpack(stdout)
    except ProtocolError as error:
        raise PdfError("pdf_unreadable", f"the PDF worker's answer is garbled ({error}): {_stderr_tail(stderr)}") from None
    if "error" in header:
        raise PdfError(str(header["error"]), str(header.get("detail", "")))
    return header["figures"], blobs
