"""Vocabulary and sentences: article titles, body sentences that cite figures, and captions.

Text is a list of ``Inline`` runs so the XML writer can add markup while ``plain_text`` gives the
exact expected string: run texts concatenated (markup flattened, nothing added or removed), then
whitespace runs collapsed to one space and the ends stripped.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

THIN_SPACE = "\u2009"
NO_BREAK_SPACE = "\u00a0"


class Inline(NamedTuple):
    text: str
    tag: str = ""  # "", "italic", "bold", "sup", "sub" or "xref"
    rid: str = ""  # for xref: space-separated figure ids


Text = list[Inline]

ADJECTIVES = ["Distinct", "Divergent", "Coordinated", "Dynamic", "Persistent", "Selective", "Early"]
ADJECTIVE_REVISIONS = {"Distinct": "Separate", "Divergent": "Differing", "Coordinated": "Concerted",
                       "Dynamic": "Changing", "Persistent": "Sustained", "Selective": "Specific",
                       "Early": "Initial"}
CELLS = ["macrophage", "dendritic", "fibroblast", "hepatocyte", "cardiomyocyte", "neuron", "epithelial"]
PROCESSES = ["inflammation", "fibrosis", "regeneration", "tumour growth", "insulin resistance",
             "axon repair", "barrier function"]
VERBS = ["regulate", "shape", "limit", "drive", "sustain"]
TISSUES = ["murine liver", "human skin", "zebrafish heart", "mouse cortex", "intestinal organoids",
           "lung biopsies"]
GENES = ["Tp53", "Foxp3", "Sox9", "Gata4", "Hif1a", "Nrf2", "Col1a1"]
ORGANISMS = ["E. coli", "Mus musculus", "Danio rerio", "S. aureus", "Drosophila melanogaster"]
MARKERS = [[Inline("CD4"), Inline("+", "sup")], [Inline("GFP"), Inline("+", "sup")],
           [Inline("Ca"), Inline("2+", "sup")], [Inline("Ki-67"), Inline("+", "sup")],
           [Inline("CO"), Inline("2", "sub")]]
CAPTION_OPENERS = ["Representative images of", "Quantification of", "Characterisation of",
                   "Comparison of"]
OPENER_REVISIONS = {"Representative": "Typical", "Quantification": "Measurement",
                    "Characterisation": "Profiling", "Comparison": "Contrast"}

# Caption phrases per painter kind; "{}" takes a word from the lists above.
PANEL_PHRASES = {
    "fluorescence": ["Immunofluorescence staining of {cell} cells", "Confocal images of {tissue}",
                     "Live imaging of {marker} cells"],
    "histology": ["H&E staining of {tissue}", "Masson trichrome staining of {tissue}",
                  "Histology of {tissue} after treatment"],
    "radiology": ["Axial CT image of {tissue}", "T2-weighted MRI of {tissue}",
                  "Micro-CT cross-section of {tissue}"],
    "gel": ["Western blot of {gene} in {tissue}", "Immunoblot of {gene} and loading control"],
    "bar_chart": ["Quantification of {marker} cells", "Relative {gene} expression"],
    "line_plot": ["Time course of {process}", "Growth curves of {organism}"],
}


def collapse_whitespace(text: str) -> str:
    # str patterns treat U+2009, U+00A0 and the other Unicode spaces as whitespace.
    return re.sub(r"\s+", " ", text).strip()


def plain_text(runs: Text) -> str:
    return collapse_whitespace("".join(run.text for run in runs))


def _fill(template: str, rng: random.Random) -> Text:
    """Expand a phrase template; {organism} and {gene} come out italic, {marker} with sup/sub."""
    runs: Text = []
    for piece in re.split(r"(\{\w+\})", template):
        if piece == "{cell}":
            runs.append(Inline(rng.choice(CELLS)))
        elif piece == "{tissue}":
            runs.append(Inline(rng.choice(TISSUES)))
        elif piece == "{process}":
            runs.append(Inline(rng.choice(PROCESSES)))
        elif piece == "{gene}":
            runs.append(Inline(rng.choice(GENES), "italic"))
        elif piece == "{organism}":
            runs.append(Inline(rng.choice(ORGANISMS), "italic"))
        elif piece == "{marker}":
            runs.extend(rng.choice(MARKERS))
        elif piece:
            runs.append(Inline(piece))
    return runs


def article_title(rng: random.Random) -> str:
    return (f"{rng.choice(ADJECTIVES)} {rng.choice(CELLS)} states {rng.choice(VERBS)} "
            f"{rng.choice(PROCESSES)} in {rng.choice(TISSUES)}")


def revise_title(title: str) -> str:
    first, rest = title.split(" ", 1)
    return f"{ADJECTIVE_REVISIONS.get(first, first)} {rest}"


def caption_title(rng: random.Random) -> Text:
    opener = rng.choice(CAPTION_OPENERS)
    return [Inline(f"{opener} "), *_fill("{cell} responses in {tissue}", rng), Inline(".")]


def revise_caption_title(runs: Text) -> Text:
    first = runs[0]
    opener, rest = first.text.split(" ", 1)
    return [Inline(f"{OPENER_REVISIONS.get(opener, opener)} {rest}", first.tag), *runs[1:]]


def scale_bar_sentence(rng: random.Random) -> Text:
    # Thin space between number and unit as PMC writes it (&#x2009; in the XML).
    size = rng.choice(["20", "50", "100", "200"])
    return [Inline(f"Scale bars, {size}{THIN_SPACE}\u03bcm.")]


def statistics_sentence(rng: random.Random) -> Text:
    n = rng.randint(3, 12)
    return [Inline(f"Data are mean \u00b1 SEM; n{NO_BREAK_SPACE}={NO_BREAK_SPACE}{n}; "),
            Inline("P", "italic"), Inline(f" < 0.0{rng.randint(1, 5)}, "),
            Inline("two-tailed", "bold"), Inline(" t-test.")]


def panel_description(kind: str, label: str | None, rng: random.Random) -> Text:
    phrase = _fill(rng.choice(PANEL_PHRASES[kind]), rng)
    lead = [Inline(f"({label}) ")] if label else []
    return [*lead, *phrase, Inline(". ")]


def body_sentence(rng: random.Random) -> Text:
    template = rng.choice([
        "Loss of {gene} altered {process} in {tissue}.",
        "{cell} cells expanded during {process}.",
        "We next examined {marker} cells in {tissue}.",
        "Infection with {organism} increased {process}.",
        "These data suggest that {cell} cells {verb} {process}.",
    ]).replace("{verb}", rng.choice(VERBS))
    text = _fill(template, rng)
    return [_capitalised(text[0]), *text[1:]]


def citing_sentence(rng: random.Random, citation: Inline) -> Text:
    """A body sentence with one figure citation (an xref run) in it."""
    claim = _fill(rng.choice([
        "{cell} cells accumulated in {tissue}", "{gene} expression rose during {process}",
        "{marker} cells were reduced", "{organism} colonised {tissue}",
    ]), rng)
    if rng.random() < 0.5:
        return [_capitalised(claim[0]), *claim[1:], Inline(" ("), citation, Inline(").")]
    return [Inline("As shown in "), citation, Inline(", "), *claim, Inline(".")]


def _capitalised(run: Inline) -> Inline:
    return Inline(run.text[:1].upper() + run.text[1:], run.tag)


def abstract_text(rng: random.Random, title: str) -> Text:
    return [Inline(f"We studied how {title[0].lower()}{title[1:]}. "), *body_sentence(rng),
            Inline(" "), *body_sentence(rng)]
