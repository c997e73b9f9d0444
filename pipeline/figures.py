"""The figure records of JATS files on disk, through the parse stage itself (``figcurate figures``).

A path is an article's ``.xml``/``.nxml`` file, or a folder holding one (a per-version folder or an
extracted package); the files beside the XML are its media, resolved as the pipeline resolves them.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from schemas.records import FETCHED_ARTICLE
from stages.parse_jats.stage import EVERY_CONTEXT, ParseJats, ParseJatsSpec
from stages.runtime.context import StageContext

# What `figcurate figures` prints of each record (no bytes).
SHOWN = (
    "fig_id", "figure_context", "label", "caption_title", "caption", "mentions", "mention_panels", "graphic_href", "graphic_hrefs", "figure_license",
    "article_type", "journal", "year", "subjects", "keywords", "article_table_images", "article_formula_images", "article_supplements",
)  # fmt: skip
_PARSER: list[ParseJats] = []


def xml_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in (".nxml", ".xml") and p.is_file())
        if not found:
            raise FileNotFoundError(f"{path}: no .nxml or .xml file in this folder")
        return found[0]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return path


def figure_records(path: Path) -> list[dict]:
    """Every record the parse stage makes of the article at ``path`` (figures in any context, or one article-level drop)."""
    xml = xml_file(path)
    media = [{"name": p.name, "key": p.name, "md5": None} for p in sorted(xml.parent.iterdir()) if p.is_file() and p != xml]
    row = {"pmcid": "PMC0", "version": 1, "work_unit": 0, "source_prefix": xml.parent.name, "xml_key": xml.name, "xml_bytes": xml.read_bytes(), "media": media}
    if not _PARSER:
        # every figure with where it sits: what a run takes is the config's choice, not this listing's
        _PARSER.append(ParseJats(ParseJatsSpec(contexts=EVERY_CONTEXT), StageContext()))
    return _PARSER[0](pa.Table.from_pylist([row], schema=FETCHED_ARTICLE)).to_pylist()


def shown(record: dict, folder: Path) -> dict:
    """The part of a record an operator reads, with the media file it resolved to and whether it is there."""
    media = record.get("media_key")
    out = {name: record.get(name) for name in SHOWN}
    out.update(media_file=media, media_exists=bool(media) and (folder / media).is_file())
    if record.get("drop_reason"):
        out.update(drop_reason=record["drop_reason"], drop_detail=record["drop_detail"])
    return out
