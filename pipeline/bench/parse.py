"""``figcurate bench parse``: our JATS figure parser beside pubmed_parser on the same real files.

Both run in this process, one file after another, over the same files read from disk each time
(pubmed_parser's ``parse_pubmed_caption`` takes a path, so ours reads the bytes inside the timed
loop too). Figures are matched by their ``id``; every disagreement is listed with a class:

- ``figure_missing``: one side has a figure the other does not;
- ``glued_words``: a word of one side is two adjacent words of the other run together;
- ``text_dropped``: one caption holds all the other's words and more (a lost title or paragraph);
- ``text_differs``: anything else (read the two texts).

The texts are compared after whitespace is normalised; pubmed_parser needs the ``bench`` extra
(``pip install 'figcurate[bench]'``); without it only our figures are reported.
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

from pipeline.figures import figure_records

_SPACES = re.compile(r"\s+")


def real_xml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".nxml") and p.is_file())


def ours(path: Path) -> dict[str, str]:
    """fig id -> caption (the parser stage's own output for the file)."""
    return {
        record["fig_id"]: record.get("caption") or ""
        for record in figure_records(path)
        if record.get("fig_id") is not None and record.get("drop_reason") in (None, "caption_missing", "graphic_missing")
    }


def theirs(path: Path) -> dict[str, str]:
    import pubmed_parser

    return {item["fig_id"]: item.get("fig_caption") or "" for item in pubmed_parser.parse_pubmed_caption(str(path)) or []}


def classify(a: str, b: str) -> str | None:
    """How two captions differ (None when equal after whitespace normalisation)."""
    a, b = _SPACES.sub(" ", a).strip(), _SPACES.sub(" ", b).strip()
    if a == b:
        return None
    words_a, words_b = a.split(), b.split()
    if _glued(words_a, words_b) or _glued(words_b, words_a):
        return "glued_words"
    if " ".join(words_a) in " ".join(words_b) or " ".join(words_b) in " ".join(words_a):
        return "text_dropped"
    return "text_differs"


def _glued(words: list[str], other: list[str]) -> bool:
    pairs = {left + right for left, right in itertools.pairwise(other)}
    return any(word in pairs for word in words if word not in other)


def _timed(parse, files: list[Path], repeat: int) -> tuple[float, list[dict[str, str]]]:
    results = [parse(path) for path in files]  # warm-up (imports, caches) outside the timing
    started = time.perf_counter()
    for _ in range(repeat):
        for path in files:
            parse(path)
    return time.perf_counter() - started, results


def bench_parse(root: Path, repeat: int = 20) -> dict:
    files = real_xml_files(root)
    if not files:
        raise SystemExit(f"no .xml/.nxml files under {root}")
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    seconds, our_figures = _timed(ours, files, repeat)
    report: dict = {
        "files": len(files),
        "megabytes": round(megabytes, 3),
        "repeat": repeat,
        "figcurate": _rates(seconds, len(files), megabytes, repeat) | {"figures": sum(map(len, our_figures))},
    }
    try:
        their_seconds, their_figures = _timed(theirs, files, repeat)
    except ImportError:
        report["pubmed_parser"] = "not installed (pip install 'figcurate[bench]')"
        return report
    report["pubmed_parser"] = _rates(their_seconds, len(files), megabytes, repeat) | {"figures": sum(map(len, their_figures))}
    report["speed_ratio"] = round(their_seconds / seconds, 2)  # > 1: figcurate is faster
    disagreements = []
    for path, mine, other in zip(files, our_figures, their_figures):
        for fig_id in sorted(set(mine) | set(other)):
            if fig_id not in mine or fig_id not in other:
                kind = "figure_missing"
            else:
                kind = classify(mine[fig_id], other[fig_id])
            if kind:
                disagreements.append({
                    "file": str(path.relative_to(root)), "fig_id": fig_id, "kind": kind,
                    "figcurate": mine.get(fig_id), "pubmed_parser": other.get(fig_id),
                })  # fmt: skip
    report["disagreements"] = {"count": len(disagreements), "items": disagreements}
    return report


def _rates(seconds: float, files: int, megabytes: float, repeat: int) -> dict:
    return {
        "seconds": round(seconds, 3),
        "documents_per_s": round(files * repeat / seconds, 1),
        "mb_per_s": round(megabytes * repeat / seconds, 2),
    }
