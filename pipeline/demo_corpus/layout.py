"""The on-disk shape of the corpus: file names, s3:// URLs with md5, metadata JSON, truth rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .plan import EXPECTED_DROPS, ArticleSpec, FigureSpec
from .text import plain_text

BUCKET = "pmc-oa-opendata"
MANIFEST_NAME = "corpus.json"
METADATA_DIR = "metadata"
TRUTH_DIR = "truth"
ARTICLES_TRUTH = "articles.jsonl"
FIGURES_TRUTH = "figures.jsonl"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def s3_url(folder: str, file_name: str, md5: str) -> str:
    return f"s3://{BUCKET}/{folder}/{file_name}?md5={md5}"


def json_bytes(value: object, indent: int | None = 2) -> bytes:
    separators = None if indent else (",", ":")
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=separators)
    return (text + "\n").encode("utf-8")


def metadata(article: ArticleSpec, xml_md5: str, text_md5: str, media_urls: list[str]) -> dict:
    """The bucket's per-version metadata JSON, field for field."""
    folder = article.folder
    return {
        "pmcid": article.pmcid,
        "version": article.version,
        "pmid": article.pmid,
        "doi": article.doi,
        "title": article.title,
        "citation": f"{article.journal.citation_title} {article.year};{article.volume}:{article.page}",
        "is_pmc_openaccess": True,
        "is_manuscript": article.is_manuscript,
        "is_historical_ocr": False,
        "is_retracted": False,
        "license_code": article.license_code,
        "xml_url": s3_url(folder, f"{folder}.xml", xml_md5),
        "pdf_url": None,
        "media_urls": media_urls,
        "text_url": s3_url(folder, f"{folder}.txt", text_md5),
    }


def expected_drop(kind: str | None) -> dict | None:
    if kind is None:
        return None
    stage, reason = EXPECTED_DROPS[kind]
    return {"stage": stage, "reason": reason}


def article_truth(article: ArticleSpec) -> dict:
    return {
        "pmcid": article.pmcid,
        "version": article.version,
        "newest": article.newest,
        "n_figures": len(article.figures),
        "license_code": article.license_code,
        "title": article.title,
        "expected_drop": expected_drop(article.broken),
    }


def mentions(article: ArticleSpec, figure: FigureSpec) -> list[str]:
    """Plain text of every body sentence whose figure xref names this figure, in document order."""
    found = []
    for section in article.sections:
        for paragraph in section.paragraphs:
            for sentence in paragraph:
                if any(r.tag == "xref" and figure.fig_id in r.rid.split() for r in sentence):
                    found.append(plain_text(sentence))
    return found


def figure_truth(article: ArticleSpec, figure: FigureSpec, size: tuple[int, int] | None) -> dict:
    """``size`` is None when the figure's file is absent (fetch_not_found)."""
    geometry = figure.geometry
    return {
        "pmcid": article.pmcid,
        "version": article.version,
        "newest": article.newest,
        "fig_id": figure.fig_id,
        "figure_index": figure.index,
        "label": figure.label,
        "caption": figure.caption,
        "media_name": figure.media_name,
        "width": size[0] if size else None,
        "height": size[1] if size else None,
        "compound": geometry.compound,
        "panels": [{"label": p.label, "box": list(p.box)} for p in geometry.panels] if size else [],
        "mentions": mentions(article, figure),
        "expected_drop": expected_drop(figure.broken),
    }


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json_bytes(row, indent=None) for row in rows))


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_truth(root: Path) -> tuple[list[dict], list[dict]]:
    """(article rows, figure rows) of a generated corpus, in (pmcid, version, figure_index) order."""
    truth = Path(root) / TRUTH_DIR
    return read_jsonl(truth / ARTICLES_TRUTH), read_jsonl(truth / FIGURES_TRUTH)
