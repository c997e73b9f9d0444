"""What each article version holds: identity, journal, license, body text, figures, broken parts.

Everything here is decided from the seed alone; writing bytes happens in ``corpus.py``.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from . import text
from .figures import FigurePlan, plan_figure, plan_tiny
from .text import Inline, Text

FIRST_PMCID_NUMBER = 9000001
BROKEN_SHARE = 0.05
VERSIONED_SHARE = 0.05

# Each broken kind and the drop it must cause downstream: (stage, reason).
EXPECTED_DROPS: dict[str, tuple[str, str]] = {
    "xml_malformed": ("parse_jats", "xml_malformed"),
    "no_figures": ("parse_jats", "no_figures"),
    "caption_missing": ("parse_jats", "caption_missing"),
    "fetch_not_found": ("fetch_media", "fetch_not_found"),
    "fetch_checksum_mismatch": ("fetch_media", "fetch_checksum_mismatch"),
    "image_decode_error": ("images", "image_decode_error"),
    "image_too_small": ("images", "image_too_small"),
}
ARTICLE_LEVEL_KINDS = ("xml_malformed", "no_figures")
BROKEN_KINDS = tuple(EXPECTED_DROPS)

LICENSE_WEIGHTS = {"CC BY": 44, "CC BY-NC": 14, "CC0": 8, "CC BY-NC-ND": 10, "CC BY-SA": 6,
                   "cc-by": 3, "CC-BY-NC": 3, "cc0": 2}


@dataclass(frozen=True)
class Journal:
    title: str
    citation_title: str
    code: str  # publisher's short code used in media names
    media_style: str  # "dash" | "dots" | "elife" | "springer"
    label_word: str  # "Figure" or "Fig."


JOURNALS = (
    Journal("Demo Journal of Biomedicine", "Demo J Biomed.", "JDB", "dash", "Figure"),
    Journal("Demo Reports in Cell Biology", "Demo Rep Cell Biol.", "drcb", "dots", "Figure"),
    Journal("eDemo Life Sciences", "eDemo Life Sci.", "edemo", "elife", "Figure"),
    Journal("Demo Archives of Pathology", "Demo Arch Pathol.", "dap", "springer", "Fig."),
    Journal("Demo Imaging Letters", "Demo Imaging Lett.", "DIL", "dash", "Fig."),
)


@dataclass(frozen=True)
class FigureSpec:
    index: int  # 1-based, document order
    label: str
    caption_title: Text | None
    caption_paragraphs: tuple[Text, ...]
    has_caption: bool
    href: str  # graphic xlink:href, no extension
    geometry: FigurePlan
    broken: str | None

    @property
    def fig_id(self) -> str:
        return f"F{self.index}"

    @property
    def media_name(self) -> str:
        return f"{self.href}.jpg"

    @property
    def caption(self) -> str:
        """The exact caption text a correct parser must produce ("" without a caption)."""
        if not self.has_caption:
            return ""
        parts = [text.plain_text(self.caption_title)] if self.caption_title else []
        parts += [text.plain_text(p) for p in self.caption_paragraphs]
        return text.collapse_whitespace(" ".join(parts))


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[tuple[Text, ...], ...]  # paragraph = sentences
    figures_after: tuple[tuple[int, ...], ...]  # per paragraph, figure indices placed after it


@dataclass(frozen=True)
class ArticleSpec:
    number: int
    version: int
    newest: bool
    journal: Journal
    year: int
    volume: int
    page: int
    pmid: str
    title: str
    license_code: str
    is_manuscript: bool
    old_style_id: bool  # <article-id pub-id-type="pmc">9000001</article-id>
    floats_group: bool  # figures after <back> instead of in the body
    thumbnails: bool  # same-stem .gif thumbnails next to each .jpg
    abstract: Text
    sections: tuple[Section, ...]
    figures: tuple[FigureSpec, ...]
    broken: str | None  # the article-level broken kind, if any

    @property
    def pmcid(self) -> str:
        return f"PMC{self.number}"

    @property
    def folder(self) -> str:
        return f"PMC{self.number}.{self.version}"

    @property
    def doi(self) -> str:
        return f"10.5555/demo.{self.number}"


def _media_href(journal: Journal, number: int, volume: int, page: int, year: int, figure: int) -> str:
    if journal.media_style == "dash":
        return f"{journal.code}-{volume}-{page}-g{figure:03d}"
    if journal.media_style == "dots":
        return f"{journal.code}.{volume:04d}{page:03d}.g{figure:03d}"
    if journal.media_style == "elife":
        return f"{journal.code}-{number % 100000:05d}-fig{figure}"
    return f"{number % 100000}_{year}_{page}_Fig{figure}_HTML"


def _caption(rng: random.Random, geometry: FigurePlan) -> tuple[Text | None, tuple[Text, ...]]:
    title = text.caption_title(rng) if rng.random() < 0.8 else None
    description: Text = []
    for panel in geometry.panels:
        description += text.panel_description(panel.kind, panel.label, rng)
    paragraphs = [description]
    extra = text.scale_bar_sentence(rng) if rng.random() < 0.5 else text.statistics_sentence(rng)
    if rng.random() < 0.4:
        paragraphs.append(extra)
    elif rng.random() < 0.5:
        paragraphs[0] = [*description, *extra]
    return title, tuple(paragraphs)


def _citation(journal: Journal, figure: FigureSpec, rng: random.Random) -> Inline:
    panel = rng.choice(figure.geometry.panels).label if figure.geometry.compound else None
    return Inline(f"{journal.label_word} {figure.index}{panel or ''}", "xref", figure.fig_id)


def _sections(rng: random.Random, journal: Journal, figures: list[FigureSpec]) -> tuple[Section, ...]:
    intro = tuple(tuple(text.body_sentence(rng) for _ in range(rng.randint(2, 4)))
                  for _ in range(rng.randint(1, 2)))
    results: list[tuple[Text, ...]] = []
    placements: list[tuple[int, ...]] = []
    cited_already: set[int] = set()
    for figure in figures:
        sentences = [text.body_sentence(rng) for _ in range(rng.randint(1, 2))]
        if figure.index not in cited_already and rng.random() > 0.1:
            sentences.append(text.citing_sentence(rng, _citation(journal, figure, rng)))
        if figure.index < len(figures) and rng.random() < 0.3:
            pair = (figure.index, figure.index + 1)
            both = Inline(f"Figs. {pair[0]} and {pair[1]}", "xref", f"F{pair[0]} F{pair[1]}")
            sentences.append(text.citing_sentence(rng, both))
            cited_already.add(pair[1])
        results.append(tuple(sentences))
        placements.append((figure.index,))
    if not figures:
        results.append(tuple(text.body_sentence(rng) for _ in range(3)))
        placements.append(())
    discussion = [text.body_sentence(rng) for _ in range(rng.randint(2, 3))]
    if figures and rng.random() < 0.5:
        discussion.insert(1, text.citing_sentence(rng, _citation(journal, rng.choice(figures), rng)))
    sections = [
        Section("Introduction", intro, tuple(() for _ in intro)),
        Section("Results", tuple(results), tuple(placements)),
    ]
    if rng.random() < 0.7:
        sections.append(Section("Discussion", (tuple(discussion),), ((),)))
    if rng.random() < 0.4:
        sections.append(Section("Materials and methods", ((text.body_sentence(rng),),), ((),)))
    return tuple(sections)


def plan_article(seed: int, index: int, broken: str | None) -> ArticleSpec:
    """Version 1 of article ``index``; ``broken`` is one of BROKEN_KINDS or None."""
    rng = random.Random(f"figcurate-demo:{seed}:{index}")  # str seeds hash with sha512: stable
    number = FIRST_PMCID_NUMBER + index
    journal = rng.choice(JOURNALS)
    year = rng.randint(2012, 2024)
    volume, page = year - 2009, rng.randint(1, 999)
    n_figures = 0 if broken == "no_figures" else rng.randint(1, 4)
    broken_figure = rng.randint(1, n_figures) if broken and broken not in ARTICLE_LEVEL_KINDS else 0
    figures = []
    for figure_index in range(1, n_figures + 1):
        figure_broken = broken if figure_index == broken_figure else None
        pixel_seed = (seed, index, figure_index)
        if figure_broken == "image_too_small":
            geometry = plan_tiny(pixel_seed)
        else:
            geometry = plan_figure(rng, pixel_seed)
        title, paragraphs = _caption(rng, geometry)
        figures.append(FigureSpec(
            index=figure_index,
            label=f"{journal.label_word} {figure_index}",
            caption_title=title,
            caption_paragraphs=paragraphs,
            has_caption=figure_broken != "caption_missing",
            href=_media_href(journal, number, volume, page, year, figure_index),
            geometry=geometry,
            broken=figure_broken,
        ))
    title = text.article_title(rng)
    return ArticleSpec(
        number=number, version=1, newest=True, journal=journal, year=year, volume=volume, page=page,
        pmid=str(31000000 + index * 17 + rng.randint(0, 16)),
        title=title,
        license_code=rng.choices(list(LICENSE_WEIGHTS), weights=list(LICENSE_WEIGHTS.values()))[0],
        is_manuscript=rng.random() < 0.05,
        old_style_id=rng.random() < 1 / 3,
        floats_group=rng.random() < 0.3,
        thumbnails=rng.random() < 0.2,
        abstract=text.abstract_text(rng, title),
        sections=_sections(rng, journal, figures),
        figures=tuple(figures),
        broken=broken if broken in ARTICLE_LEVEL_KINDS else None,
    )


def revise(article: ArticleSpec) -> ArticleSpec:
    """Version 2: same figures and body, slightly reworded title and caption titles."""
    figures = tuple(
        dataclasses.replace(f, caption_title=text.revise_caption_title(f.caption_title))
        if f.caption_title else f
        for f in article.figures
    )
    return dataclasses.replace(article, version=2, title=text.revise_title(article.title), figures=figures)


def plan_corpus(articles: int, seed: int) -> list[ArticleSpec]:
    """All article versions, ordered by pmcid then version."""
    rng = random.Random(seed)
    order = list(range(articles))
    rng.shuffle(order)
    # With 8+ articles every broken kind appears at least once, plus one versioned article.
    n_versioned = max(1 if articles >= 8 else 0, round(VERSIONED_SHARE * articles))
    n_broken = max(len(BROKEN_KINDS) if articles >= 8 else 0, round(BROKEN_SHARE * articles))
    versioned = set(order[:n_versioned])
    kinds = list(BROKEN_KINDS)
    rng.shuffle(kinds)
    chosen = order[n_versioned:n_versioned + n_broken]
    broken = {index: kinds[k % len(kinds)] for k, index in enumerate(chosen)}

    specs = []
    for index in range(articles):
        first = plan_article(seed, index, broken.get(index))
        if index in versioned:
            specs += [dataclasses.replace(first, newest=False), revise(first)]
        else:
            specs.append(first)
    return specs
