"""Stage ``parse_jats``: article XML -> one record per figure, with caption and in-text mentions.

Good enough for well-formed PMC-style articles; the faithful parser (fig-groups, sub-articles,
alternatives, labels in odd places) replaces the figure finding here without changing the schema.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from lxml import etree
from pydantic import Field, field_validator

from schemas.keys import sample_key
from schemas.records import FIGURE
from stages.parse_jats.jats_meta import article_details, figure_license
from stages.parse_jats.jats_text import (
    XLINK_HREF,
    element_text,
    local_name,
    normalise_space,
    parse_xml,
)
from stages.parse_jats.sentences import split_sentences
from stages.runtime.base import Drop, Row, Stage, StageSpec
from stages.subcaptions.align import figure_number, mentioned_letters

# Figures that are not figures for our purposes live inside these.
_NOT_FIGURE_PARENTS = {"table-wrap", "disp-formula", "supplementary-material"}
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


# Where a figure sits: one of these, or "sub-article:<article-type>" (configs may also say "sub-article" for any).
PLACES = ("main", "back", "floats", "boxed-text", "appendix", "graphical-abstract")
_SUB_ARTICLE = re.compile(r"sub-article(:[\w.-]+)?")
_PLACE_OF = {"boxed-text": "boxed-text", "app": "appendix", "app-group": "appendix", "floats-group": "floats", "back": "back"}
DEFAULT_CONTEXTS = ["main", "back", "floats", "boxed-text", "appendix"]
EVERY_CONTEXT = [*PLACES, "sub-article"]


def figure_context(fig) -> str:
    """Where ``fig`` sits: a sub-article (by its type) or a graphical abstract before any place
    inside them, then the innermost of boxed-text, appendix, floats-group and back."""
    ancestors = list(fig.iterancestors())
    for ancestor in reversed(ancestors):  # outermost first: a translation's boxed figure is the translation's
        if local_name(ancestor) == "sub-article":
            return f"sub-article:{ancestor.get('article-type') or 'unknown'}"
    for ancestor in ancestors:
        if local_name(ancestor) == "abstract" and (ancestor.get("abstract-type") or "").lower() in ("graphical", "graphical-abstract"):
            return "graphical-abstract"
    for ancestor in ancestors:
        if (place := _PLACE_OF.get(local_name(ancestor))) is not None:
            return place
    return "main"


class ParseJatsSpec(StageSpec):
    batch_size: int = 8
    contexts: list[str] = Field(
        DEFAULT_CONTEXTS,
        description="where a figure may sit to be taken: main, back, floats, boxed-text, appendix, graphical-abstract, "
        "sub-article (any) or sub-article:<article-type> (translation, decision-letter, reply, ...). Figures elsewhere "
        "are dropped as figure_context_excluded. The default is the article's own figures; sub-articles (translations "
        "repeat every image, reviews and author responses are not the article) and graphical abstracts (no label, "
        "mostly a redrawn summary of the figures) are left out",
    )

    @field_validator("contexts")
    @classmethod
    def _known_contexts(cls, contexts: list[str]) -> list[str]:
        unknown = [c for c in contexts if c not in PLACES and not _SUB_ARTICLE.fullmatch(c)]
        if unknown:
            raise ValueError(f"unknown figure contexts {unknown}; known: {', '.join(PLACES)}, sub-article, sub-article:<article-type>")
        return contexts

    def takes(self, context: str) -> bool:
        return context in self.contexts or (context.startswith("sub-article:") and "sub-article" in self.contexts)


class ParseJats(Stage):
    name = "parse_jats"
    spec_type = ParseJatsSpec
    output_schema = FIGURE

    def process(self, row: Row) -> Iterable[Row]:
        try:
            root = parse_xml(row["xml_bytes"])
        except etree.XMLSyntaxError as error:
            raise Drop("xml_malformed", f"{row['xml_key']}: {error}") from None
        figures = [fig for fig in root.iter("fig") if not _inside_non_figure(fig)]
        if not figures:
            raise Drop("no_figures", row["xml_key"])
        mentions = collect_mentions(root)
        article = {k: v for k, v in row.items() if k not in ("xml_bytes", "xml_key", "media")}
        article.update(article_type=root.get("article-type") or None, **article_details(root))
        media_by_name = {entry["name"]: entry for entry in row["media"] or []}
        for index, fig in enumerate(figures, start=1):  # every figure keeps its index, taken or not: keys stay stable
            yield self._figure_record(article, index, fig, mentions, media_by_name)

    def _figure_record(self, article: Row, index: int, fig, mentions: dict[str, list[str]], media_by_name: dict) -> Row:
        fig_id = fig.get("id") or f"fig{index}"
        record = {
            **article,
            "figure_index": index,
            "sample_key": sample_key(article["pmcid"], article["version"], index),
            "fig_id": fig_id,
            "label": element_text(fig.find("label")) or None,
            "mentions": mentions.get(fig_id, []),
            "figure_license": figure_license(fig),
            "figure_context": figure_context(fig),
        }
        record["mention_panels"] = sorted(mentioned_letters(record["mentions"], figure_number(record["label"])))
        title, text = caption_text(fig.find("caption"))
        group = fig.getparent()
        if local_name(group) == "fig-group" and group.find("caption") is not None:
            # A fig-group's own caption is shared context of each of its figures: it comes first.
            text = normalise_space(" ".join([caption_text(group.find("caption"))[1], text]))
        record.update(caption_title=title or None, caption=text or None)
        if not self.spec.takes(record["figure_context"]):
            return self.dropped(record, "figure_context_excluded", f"{fig_id} is in {record['figure_context']}")
        if not text:
            return self.dropped(record, "caption_missing", f"{fig_id} has no caption text")
        hrefs = [href for graphic in fig.iter("graphic") if (href := (graphic.get(XLINK_HREF) or "").strip())]
        record["graphic_hrefs"] = hrefs
        if not hrefs:
            return self.dropped(record, "graphic_missing", f"{fig_id} has no graphic")
        # Several graphics (or <alternatives>): the first that resolves to a full-size raster file.
        href, entry = next(((h, e) for h in hrefs if (e := resolve_media(h, media_by_name)) is not None), (hrefs[0], None))
        record["graphic_href"] = href
        if entry is None:
            # Not listed in the metadata: try the conventional name; fetch_media records it if absent.
            record["media_key"] = f"{article['source_prefix']}/{href}.jpg"
        else:
            record.update(media_key=entry["key"], media_md5=entry["md5"])
        return record


def caption_text(caption) -> tuple[str, str]:
    """(title, whole text) of a ``<caption>``: the title and every paragraph, joined with spaces."""
    if caption is None:
        return "", ""
    title = element_text(caption.find("title"))
    paragraphs = [element_text(p) for p in caption.iter("p")]
    return title, normalise_space(" ".join([title, *paragraphs]))


def _inside_non_figure(fig) -> bool:
    return any(local_name(parent) in _NOT_FIGURE_PARENTS for parent in fig.iterancestors())


def resolve_media(href: str, media_by_name: dict[str, dict]) -> dict | None:
    """The full-size file for a graphic href (which has no extension and may contain dots).

    ``<href>.jpg`` first, then other raster formats; never the same-stem ``.gif``, which in PMC
    packages is a thumbnail (if it is all there is, the figure ends as ``fetch_not_found``).
    """
    if href in media_by_name and PurePosixPath(href).suffix.lower() in _IMAGE_EXTENSIONS:
        return media_by_name[href]
    for extension in _IMAGE_EXTENSIONS:
        for name in (href + extension, href + extension.upper()):
            if name in media_by_name:
                return media_by_name[name]
    return None


# Each citation is marked in a copy of its paragraph with one character of Unicode's private use
# plane, so that after flattening and splitting it is found in its own sentence by position, never
# by searching for its text (which "Figure <xref>1</xref>" or a repeated "Fig. 2B" would defeat).
_MARK_BASE = 0xF0000
_MARKS = re.compile("[\U000F0000-\U000FFFFD]")


def collect_mentions(root) -> dict[str, list[str]]:
    """Figure id -> the sentences of the body that cite it through ``<xref ref-type="fig">``."""
    mentions: dict[str, list[str]] = {}
    for paragraph in root.iter("p"):
        if not any(x.get("ref-type") == "fig" for x in paragraph.iter("xref")) or any(local_name(a) == "caption" for a in paragraph.iterancestors()):
            continue
        marked = copy.deepcopy(paragraph)
        xrefs = [x for x in marked.iter("xref") if x.get("ref-type") == "fig"]
        for number, xref in enumerate(xrefs):
            xref.text = (xref.text or "") + chr(_MARK_BASE + number)  # at the end: a sentence may start with the citation
        for sentence in split_sentences(element_text(marked)):
            clean = normalise_space(_MARKS.sub("", sentence))
            for mark in _MARKS.findall(sentence):
                for rid in (xrefs[ord(mark) - _MARK_BASE].get("rid") or "").split():
                    bucket = mentions.setdefault(rid, [])
                    if clean not in bucket:
                        bucket.append(clean)
    return mentions
