"""Write a whole demo corpus to disk: version folders, metadata copies, truth, corpus.json last."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .figures import draw_figure, encode_jpeg, encode_thumbnail_gif
from .jats import render_article, render_plain_text
from .plan import ArticleSpec, FigureSpec, plan_corpus

GENERATOR = "figcurate-demo-corpus"
GENERATOR_VERSION = 1
TRUNCATED_JPEG_SHARE = 0.4
OWN_ENTRY = re.compile(r"PMC\d+\.\d+|metadata|truth|corpus\.json\.tmp")


@dataclass(frozen=True)
class RenderedFigure:
    jpeg: bytes
    gif: bytes
    size: tuple[int, int]


def _render(figure: FigureSpec) -> RenderedFigure:
    image = draw_figure(figure.geometry)
    return RenderedFigure(encode_jpeg(image), encode_thumbnail_gif(image), image.size)


def _write_media(folder: Path, article: ArticleSpec, figure: FigureSpec,
                 rendered: RenderedFigure) -> list[str]:
    """Write the figure's files (broken on purpose where planned); return their media URLs."""
    data = rendered.jpeg
    listed_md5 = layout.md5_hex(data)
    if figure.broken == "image_decode_error":
        data = data[: int(len(data) * TRUNCATED_JPEG_SHARE)]
        listed_md5 = layout.md5_hex(data)
    elif figure.broken == "fetch_checksum_mismatch":
        # As if the file changed after its md5 was recorded: still a valid JPEG, wrong checksum.
        listed_md5 = layout.md5_hex(data + b"\n")
    (folder / figure.media_name).write_bytes(data)
    urls = [layout.s3_url(article.folder, figure.media_name, listed_md5)]
    if article.thumbnails:
        gif_name = f"{figure.href}.gif"
        (folder / gif_name).write_bytes(rendered.gif)
        urls.append(layout.s3_url(article.folder, gif_name, layout.md5_hex(rendered.gif)))
    return urls


def _truncated_xml(article: ArticleSpec, xml: bytes) -> bytes:
    share = 0.4 + (article.number % 7) * 0.04  # cut somewhere in the middle, varied per article
    return xml[: int(len(xml) * share)]


def write_version(out: Path, article: ArticleSpec,
                  renders: dict[tuple[int, ...], RenderedFigure]) -> tuple[dict, list[dict]]:
    """Write one ``PMC<id>.<ver>/`` folder and its metadata copy; return its truth rows."""
    folder = out / article.folder
    folder.mkdir(parents=True, exist_ok=True)
    media_urls: list[str] = []
    sizes: dict[int, tuple[int, int]] = {}
    for figure in article.figures:
        if figure.broken == "fetch_not_found":
            continue  # the graphic names a file that is neither on disk nor in media_urls
        key = figure.geometry.seed
        if key not in renders:
            renders[key] = _render(figure)
        media_urls += _write_media(folder, article, figure, renders[key])
        sizes[figure.index] = renders[key].size

    xml = render_article(article)
    if article.broken == "xml_malformed":
        xml = _truncated_xml(article, xml)
    plain = render_plain_text(article)
    (folder / f"{article.folder}.xml").write_bytes(xml)
    (folder / f"{article.folder}.txt").write_bytes(plain)
    meta = layout.json_bytes(layout.metadata(article, layout.md5_hex(xml), layout.md5_hex(plain), media_urls))
    (folder / f"{article.folder}.json").write_bytes(meta)
    (out / layout.METADATA_DIR / f"{article.folder}.json").write_bytes(meta)

    figure_rows = []
    if article.broken != "xml_malformed":  # a parser cannot see figures of a malformed file
        figure_rows = [layout.figure_truth(article, f, sizes.get(f.index)) for f in article.figures]
    return layout.article_truth(article), figure_rows


def _existing_manifest(out: Path, wanted: dict) -> dict | None:
    path = out / layout.MANIFEST_NAME
    if not path.exists():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{path} exists but is not readable JSON ({error}); remove {out} to regenerate"
        ) from error
    mismatched = {k: (found.get(k), v) for k, v in wanted.items() if found.get(k) != v}
    if mismatched:
        details = ", ".join(f"{k}={have!r} (asked {want!r})" for k, (have, want) in mismatched.items())
        raise ValueError(f"{out} already holds a different demo corpus: {details}; "
                         f"choose another folder or remove this one")
    return found


def _clear_partial(out: Path) -> None:
    """Remove what an interrupted run left; refuse to touch a folder holding anything else."""
    if not out.exists():
        return
    foreign = sorted(p.name for p in out.iterdir() if not OWN_ENTRY.fullmatch(p.name))
    if foreign:
        raise ValueError(f"{out} is not empty and is not a demo corpus (found {foreign[:5]}); "
                         f"choose an empty or new folder")
    for entry in sorted(out.iterdir()):
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def generate_corpus(out: Path, articles: int, seed: int = 0) -> dict:
    """Generate (or reuse) a deterministic PMC-like corpus under ``out``; return corpus.json's dict."""
    out = Path(out)
    if articles < 1:
        raise ValueError(f"articles must be at least 1, got {articles}")
    if seed < 0:
        raise ValueError(f"seed must be zero or positive, got {seed}")
    wanted = {"generator": GENERATOR, "generator_version": GENERATOR_VERSION,
              "articles": articles, "seed": seed}
    existing = _existing_manifest(out, wanted)
    if existing is not None:
        return existing
    _clear_partial(out)
    (out / layout.METADATA_DIR).mkdir(parents=True)

    article_rows: list[dict] = []
    figure_rows: list[dict] = []
    renders: dict[tuple[int, ...], RenderedFigure] = {}
    for article in plan_corpus(articles, seed):
        if article.version == 1:
            renders.clear()  # version 2 reuses version 1's images; nothing older is needed
        article_row, rows = write_version(out, article, renders)
        article_rows.append(article_row)
        figure_rows += rows
    layout.write_jsonl(out / layout.TRUTH_DIR / layout.ARTICLES_TRUTH, article_rows)
    layout.write_jsonl(out / layout.TRUTH_DIR / layout.FIGURES_TRUTH, figure_rows)

    manifest = {**wanted, "article_versions": len(article_rows), "figures": len(figure_rows)}
    temporary = out / f"{layout.MANIFEST_NAME}.tmp"
    temporary.write_bytes(layout.json_bytes(manifest))
    os.replace(temporary, out / layout.MANIFEST_NAME)  # last, so a partial corpus has no manifest
    return manifest
