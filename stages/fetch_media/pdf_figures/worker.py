"""The PDF worker: a short-lived child process that does all PyMuPDF work for one PDF.

Run as ``python -m stages.fetch_media.pdf_figures.worker`` by ``sandbox.run_worker``. It reads one request
(labels, limits, PDF bytes) from stdin, bounds its own memory and CPU time, and writes one answer to
the stdout it started with; anything MuPDF prints goes to stderr. It dies with its parent.
"""

from __future__ import annotations

import os
import resource
import signal
import sys

from .labels import label_pattern
from .protocol import pack, unpack

# MuPDF reports a failed allocation as an error whose message says so.
_MEMORY_WORDS = ("malloc", "calloc", "realloc", "out of memory", "cannot allocate")


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the caller's timeout still kills the worker
    if os.getppid() == 1:
        os._exit(1)  # the parent died before the death signal was armed


def _address_space_now() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _bound_resources(max_memory_mb: int, timeout_s: float) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu_s = int(timeout_s) + 2  # a backstop only: the caller's wall-clock timeout fires first
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    baseline = _address_space_now()
    if baseline is not None:
        limit = baseline + max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class WorkerFailure(Exception):
    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail


def _failure(error: BaseException, doing: str) -> WorkerFailure:
    message = f"{doing}: {type(error).__name__}: {error}"[:500]
    if isinstance(error, MemoryError) or any(word in str(error).lower() for word in _MEMORY_WORDS):
        return WorkerFailure("pdf_out_of_memory", message)
    return WorkerFailure("pdf_unreadable", message)


def find(pdf: bytes, labels: list[str], limits: dict) -> tuple[list[dict], list[bytes]]:
    import pymupdf

    from .locate import candidates_on_page, render

    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
    except Exception as error:  # noqa: BLE001 - MuPDF raises several types for a broken file
        raise _failure(error, "open") from None
    if doc.needs_pass:
        raise WorkerFailure("pdf_encrypted", "the PDF needs a password")
    try:
        page_count = doc.page_count
    except Exception as error:  # noqa: BLE001 - as for open
        raise _failure(error, "page count") from None
    if page_count == 0:
        raise WorkerFailure("pdf_unreadable", "the PDF has no pages")
    if page_count > limits["max_pages"]:
        raise WorkerFailure("pdf_too_large", f"{page_count} pages, more than max_pages={limits['max_pages']}")

    patterns = [pattern for pattern in map(label_pattern, labels) if pattern is not None]
    best: dict = {}
    broken_pages = []
    for number in range(page_count):
        if all(label in best and best[label].punctuated for label in (p.label for p in patterns)):
            break  # every label has a caption-like match; captions appear once
        try:
            found = candidates_on_page(doc.load_page(number), [p for p in patterns if p.label not in best or not best[p.label].punctuated])
        except Exception as error:  # noqa: BLE001 - one broken page must not lose the others' figures
            failure = _failure(error, f"page {number}")
            if failure.reason == "pdf_out_of_memory":
                raise failure from None
            broken_pages.append(number)
            continue
        for label, candidates in found.items():
            for candidate in candidates:
                if label not in best or (candidate.punctuated and not best[label].punctuated):
                    best[label] = candidate
    if len(broken_pages) == page_count:
        raise WorkerFailure("pdf_unreadable", f"no page could be read ({page_count} pages)")

    figures, blobs = [], []
    for label, candidate in best.items():
        try:
            pixmap = render(doc.load_page(candidate.page), candidate.rect, limits["dpi"], limits["max_side"])
            png = pixmap.tobytes("png")
        except Exception as error:  # noqa: BLE001 - as for open
            raise _failure(error, f"render {label!r} on page {candidate.page}") from None
        figures.append(
            {
                "label": label,
                "page": candidate.page,
                "bbox": list(candidate.rect),
                "width": pixmap.width,
                "height": pixmap.height,
                "method": candidate.method,
                "caption": candidate.caption,
            }
        )
        blobs.append(png)
        del pixmap
    return figures, blobs


def main() -> int:
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever MuPDF or Python print goes to stderr, never into the answer
    _die_with_parent()
    header, blobs = unpack(sys.stdin.buffer.read())
    limits = header["limits"]
    # PyMuPDF 2 imports pymupdf4llm and loads its ONNX page-layout model at import when they are
    # installed; nothing here uses them, and skipping them (an import of None fails, and PyMuPDF
    # carries on without) cuts the worker's start from 0.5 s to 0.1 s, and its memory.
    for optional in ("pymupdf.layout", "pymupdf4llm"):
        sys.modules.setdefault(optional, None)
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    _bound_resources(limits["max_memory_mb"], limits["timeout_s"])
    try:
        figures, pngs = find(blobs[0], header["labels"], limits)
        message = pack({"figures": figures}, pngs)
    except WorkerFailure as failure:
        message = pack({"error": failure.reason, "detail": failure.detail}, [])
    except MemoryError as error:
        message = pack({"error": "pdf_out_of_memory", "detail": f"{type(error).__name__}: {error}"[:500]}, [])
    answer.write(message)
    answer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
