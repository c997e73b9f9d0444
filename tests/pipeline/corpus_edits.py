"""Edits to a generated corpus on disk: plant a copy of one figure in another article."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from pipeline.demo_corpus import load_truth


def usable_figures(root: Path) -> list[dict]:
    """Truth rows of the newest versions' figures that reach the shards, in PMCID order."""
    articles, figures = load_truth(root)
    broken_articles = {(a["pmcid"], a["version"]) for a in articles if a["expected_drop"]}
    return [f for f in figures if f["newest"] and not f["expected_drop"] and (f["pmcid"], f["version"]) not in broken_articles]


def plant_copy(root: Path, source: dict, target: dict, edit: Callable[[Image.Image], bytes] | None = None) -> None:
    """Replace ``target``'s image file with ``source``'s (bytes as they are, or ``edit`` of the picture),
    and record the new md5 in both copies of the target article's metadata JSON."""
    source_file = root / f"{source['pmcid']}.{source['version']}" / source["media_name"]
    folder = f"{target['pmcid']}.{target['version']}"
    data = source_file.read_bytes() if edit is None else edit(Image.open(source_file).convert("RGB"))
    (root / folder / target["media_name"]).write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    pattern = re.compile(rf"({re.escape(target['media_name'])}\?md5=)[0-9a-f]+")
    for path in (root / folder / f"{folder}.json", root / "metadata" / f"{folder}.json"):
        meta = json.loads(path.read_text())
        meta["media_urls"] = [pattern.sub(rf"\g<1>{md5}", url) for url in meta["media_urls"]]
        path.write_text(json.dumps(meta, indent=2))


def jpeg(image: Image.Image, quality: int = 70) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def attach_pdf(root: Path, article: dict, pdf: bytes) -> None:
    """Give an article version a PDF: the file in its folder and ``pdf_url`` in both metadata copies."""
    from pipeline.demo_corpus.layout import s3_url

    folder = f"{article['pmcid']}.{article['version']}"
    name = f"{folder}.pdf"
    (root / folder / name).write_bytes(pdf)
    for path in (root / folder / f"{folder}.json", root / "metadata" / f"{folder}.json"):
        meta = json.loads(path.read_text())
        meta["pdf_url"] = s3_url(folder, name, hashlib.md5(pdf).hexdigest())
        path.write_text(json.dumps(meta, indent=2))


def figure_pdf(image: Image.Image, caption: str) -> bytes:
    """A one-page PDF holding ``image`` with ``caption`` set as text under it."""
    import pymupdf

    document = pymupdf.open()
    page = document.new_page(width=595, height=842)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    page.insert_image(pymupdf.Rect(72, 90, 523, 90 + 451 * image.height / image.width), stream=buffer.getvalue())
    page.insert_text((72, 130 + 451 * image.height / image.width), caption, fontsize=10)
    return document.tobytes()


def remove_media(root: Path, figure: dict) -> None:
    """Delete a figure's image file and its entry in the metadata, as if the package never had it."""
    folder = f"{figure['pmcid']}.{figure['version']}"
    (root / folder / figure["media_name"]).unlink()
    for path in (root / folder / f"{folder}.json", root / "metadata" / f"{folder}.json"):
        meta = json.loads(path.read_text())
        meta["media_urls"] = [url for url in meta["media_urls"] if f"/{figure['media_name']}?" not in url]
        path.write_text(json.dumps(meta, indent=2))
