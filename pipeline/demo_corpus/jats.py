"""JATS XML text (and the article's plain text) for one article version."""

from __future__ import annotations

from .plan import ArticleSpec, FigureSpec
from .text import NO_BREAK_SPACE, THIN_SPACE, Text, plain_text

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
DOCTYPE = ('<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange '
           'DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">')
ARTICLE_OPEN = ('<article xmlns:xlink="http://www.w3.org/1999/xlink" '
                'xmlns:mml="http://www.w3.org/1998/Math/MathML" article-type="research-article" '
                'dtd-version="1.3" xml:lang="en">')

LICENSES: dict[str, tuple[str, str]] = {
    "by": ("https://creativecommons.org/licenses/by/4.0/",
           "Creative Commons Attribution License, which permits unrestricted use"),
    "by-nc": ("https://creativecommons.org/licenses/by-nc/4.0/",
              "Creative Commons Attribution-NonCommercial License, which permits non-commercial use"),
    "by-nc-nd": ("https://creativecommons.org/licenses/by-nc-nd/4.0/",
                 "Creative Commons Attribution-NonCommercial-NoDerivs License"),
    "by-sa": ("https://creativecommons.org/licenses/by-sa/4.0/",
              "Creative Commons Attribution-ShareAlike License"),
    "zero": ("https://creativecommons.org/publicdomain/zero/1.0/",
             "Creative Commons CC0 public domain dedication"),
}
LICENSE_OF_CODE = {"CC BY": "by", "cc-by": "by", "CC BY-NC": "by-nc", "CC-BY-NC": "by-nc",
                   "CC BY-NC-ND": "by-nc-nd", "CC BY-SA": "by-sa", "CC0": "zero", "cc0": "zero"}

# PMC files write some characters as numeric references; the parser must decode them.
CHARACTER_REFERENCES = {THIN_SPACE: "&#x2009;", NO_BREAK_SPACE: "&#160;", "\u00b1": "&#xB1;"}


def escape(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    for char, reference in CHARACTER_REFERENCES.items():
        value = value.replace(char, reference)
    return value


def render_runs(runs: Text) -> str:
    parts = []
    for run in runs:
        if run.tag == "xref":
            parts.append(f'<xref ref-type="fig" rid="{escape(run.rid)}">{escape(run.text)}</xref>')
        elif run.tag:
            parts.append(f"<{run.tag}>{escape(run.text)}</{run.tag}>")
        else:
            parts.append(escape(run.text))
    return "".join(parts)


def _paragraph(sentences: tuple[Text, ...]) -> str:
    return "<p>" + " ".join(render_runs(s) for s in sentences) + "</p>"


def render_figure(figure: FigureSpec) -> str:
    lines = [f'<fig id="{figure.fig_id}" position="float">', f"<label>{escape(figure.label)}</label>"]
    if figure.has_caption:
        lines.append("<caption>")
        if figure.caption_title:
            lines.append(f"<title>{render_runs(figure.caption_title)}</title>")
        lines += [f"<p>{render_runs(p)}</p>" for p in figure.caption_paragraphs]
        lines.append("</caption>")
    lines.append(f'<graphic xlink:href="{escape(figure.href)}"/>')
    lines.append("</fig>")
    return "\n".join(lines)


def _front(article: ArticleSpec) -> list[str]:
    if article.old_style_id:
        pmc_id = f'<article-id pub-id-type="pmc">{article.number}</article-id>'
    else:
        pmc_id = f'<article-id pub-id-type="pmcid">{article.pmcid}</article-id>'
    href, license_text = LICENSES[LICENSE_OF_CODE[article.license_code]]
    journal = article.journal
    return [
        "<front>",
        "<journal-meta>",
        f'<journal-id journal-id-type="nlm-ta">{escape(journal.citation_title.rstrip("."))}</journal-id>',
        f"<journal-title-group><journal-title>{escape(journal.title)}</journal-title></journal-title-group>",
        "<publisher><publisher-name>Demo Press</publisher-name></publisher>",
        "</journal-meta>",
        "<article-meta>",
        f'<article-id pub-id-type="pmid">{article.pmid}</article-id>',
        pmc_id,
        f'<article-id pub-id-type="doi">{escape(article.doi)}</article-id>',
        f"<title-group><article-title>{escape(article.title)}</article-title></title-group>",
        f'<pub-date pub-type="epub"><year>{article.year}</year></pub-date>',
        f"<volume>{article.volume}</volume>",
        f"<elocation-id>{article.page}</elocation-id>",
        "<permissions>",
        f"<copyright-statement>\u00a9 {article.year} The Authors</copyright-statement>",
        f"<copyright-year>{article.year}</copyright-year>",
        f'<license xlink:href="{href}"><license-p>This is an open access article distributed under '
        f"the terms of the {escape(license_text)}.</license-p></license>",
        "</permissions>",
        f"<abstract><p>{render_runs(article.abstract)}</p></abstract>",
        "</article-meta>",
        "</front>",
    ]


def _body(article: ArticleSpec) -> list[str]:
    by_index = {f.index: f for f in article.figures}
    lines = ["<body>"]
    for number, section in enumerate(article.sections, start=1):
        lines.append(f'<sec id="s{number}">')
        lines.append(f"<title>{escape(section.title)}</title>")
        for paragraph, placed in zip(section.paragraphs, section.figures_after):
            lines.append(_paragraph(paragraph))
            if not article.floats_group:
                lines += [render_figure(by_index[i]) for i in placed]
        lines.append("</sec>")
    lines.append("</body>")
    return lines


def render_article(article: ArticleSpec) -> bytes:
    lines = [XML_DECLARATION, DOCTYPE, ARTICLE_OPEN, *_front(article), *_body(article)]
    lines += [
        "<back>",
        "<ack><p>We thank the demo imaging core.</p></ack>",
        '<ref-list><ref id="R1"><mixed-citation publication-type="journal">Demo A, Example B. '
        "A reference. <italic>Demo J Biomed.</italic> 2010;1:1.</mixed-citation></ref></ref-list>",
        "</back>",
    ]
    if article.floats_group and article.figures:
        lines += ["<floats-group>", *(render_figure(f) for f in article.figures), "</floats-group>"]
    lines.append("</article>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_plain_text(article: ArticleSpec) -> bytes:
    """The article's .txt: title, abstract, sections and figure captions as plain text."""
    blocks = [article.title, "Abstract\n" + plain_text(article.abstract)]
    for section in article.sections:
        paragraphs = [" ".join(plain_text(s) for s in p) for p in section.paragraphs]
        blocks.append("\n".join([section.title, *paragraphs]))
    blocks += [f"{f.label}. {f.caption}" for f in article.figures if f.has_caption]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")
