"""The demo corpus generator: determinism, layout, checksums, JATS, captions, panels, broken items."""

from __future__ import annotations

import hashlib
import json
import re
from itertools import combinations
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from PIL import Image

from pipeline.demo_corpus import generate_corpus, load_truth

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ALL_BROKEN_REASONS = {
    ("parse_jats", "xml_malformed"), ("parse_jats", "no_figures"), ("parse_jats", "caption_missing"),
    ("fetch_media", "fetch_not_found"), ("fetch_media", "fetch_checksum_mismatch"),
    ("images", "image_decode_error"), ("images", "image_too_small"),
}


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def caption_from_xml(fig: etree._Element) -> str:
    """The documented rule: title text, then paragraph texts, markup flattened, spaces collapsed."""
    caption = fig.find("caption")
    if caption is None:
        return ""
    parts = [collapse("".join(el.itertext())) for el in [caption.find("title"), *caption.findall("p")]
             if el is not None]
    return collapse(" ".join(parts))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def url_file(root: Path, url: str) -> tuple[Path, str]:
    """(local path, md5) of an s3://pmc-oa-opendata/<key>?md5=<hex> URL."""
    parts = urlsplit(url)
    assert parts.scheme == "s3" and parts.netloc == "pmc-oa-opendata"
    md5 = re.fullmatch(r"md5=([0-9a-f]{32})", parts.query).group(1)
    return root / parts.path.lstrip("/"), md5


def drop(row: dict) -> tuple[str, str] | None:
    return (row["expected_drop"]["stage"], row["expected_drop"]["reason"]) if row["expected_drop"] else None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "demo"
    generate_corpus(root, articles=24, seed=0)
    return root


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_corpus(first, articles=10, seed=3)
    generate_corpus(again, articles=10, seed=3)
    generate_corpus(other, articles=10, seed=4)
    first_tree = tree_bytes(first)
    assert len(first_tree) > 30
    assert tree_bytes(again) == first_tree
    assert tree_bytes(other) != first_tree


def test_manifest_counts_and_reuse(corpus):
    manifest = json.loads((corpus / "corpus.json").read_text())
    articles, figures = load_truth(corpus)
    assert manifest == {"generator": "figcurate-demo-corpus", "generator_version": 1, "articles": 24,
                        "seed": 0, "article_versions": len(articles), "figures": len(figures)}
    assert len(list(corpus.glob("PMC*.*"))) == len(articles)
    # A second call must return the manifest without regenerating: a removed file stays removed.
    victim = next(corpus.glob("PMC*/*.txt"))
    content = victim.read_bytes()
    victim.unlink()
    try:
        assert generate_corpus(corpus, articles=24, seed=0) == manifest
        assert not victim.exists()
    finally:
        victim.write_bytes(content)


@pytest.mark.parametrize("articles, seed, word", [(25, 0, "articles"), (24, 1, "seed")])
def test_other_parameters_on_existing_corpus_raise(corpus, articles, seed, word):
    with pytest.raises(ValueError, match=word):
        generate_corpus(corpus, articles=articles, seed=seed)


def test_partial_corpus_is_regenerated_and_foreign_folder_refused(tmp_path):
    root = tmp_path / "demo"
    generate_corpus(root, articles=8, seed=0)
    expected = tree_bytes(root)
    (root / "corpus.json").unlink()  # as if the run died before its last write
    xml = next(root.glob("PMC*/*.xml"))
    xml.write_bytes(b"garbage")
    (root / "PMC9999999.1").mkdir()  # left over from some other run
    generate_corpus(root, articles=8, seed=0)
    assert tree_bytes(root) == expected
    assert not (root / "PMC9999999.1").exists()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a demo corpus"):
        generate_corpus(foreign, articles=8, seed=0)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_metadata_fields_md5s_and_copies(corpus):
    articles, figures = load_truth(corpus)
    mismatched = {(f["pmcid"], f["version"], f["media_name"]) for f in figures
                  if drop(f) == ("fetch_media", "fetch_checksum_mismatch")}
    assert mismatched
    seen_mismatch = set()
    for row in articles:
        folder = f"{row['pmcid']}.{row['version']}"
        data = (corpus / folder / f"{folder}.json").read_bytes()
        assert (corpus / "metadata" / f"{folder}.json").read_bytes() == data
        meta = json.loads(data)
        assert list(meta) == ["pmcid", "version", "pmid", "doi", "title", "citation", "is_pmc_openaccess",
                              "is_manuscript", "is_historical_ocr", "is_retracted", "license_code",
                              "xml_url", "pdf_url", "media_urls", "text_url"]
        assert (meta["pmcid"], meta["version"], meta["title"]) == (row["pmcid"], row["version"], row["title"])
        assert meta["pmid"].isdigit() and meta["doi"] == f"10.5555/demo.{row['pmcid'][3:]}"
        assert meta["license_code"] == row["license_code"] and meta["pdf_url"] is None
        assert re.fullmatch(r"e?Demo .+\. \d{4};\d+:\d+", meta["citation"])
        for url in [meta["xml_url"], meta["text_url"], *meta["media_urls"]]:
            path, md5 = url_file(corpus, url)
            assert path.parent.name == folder
            actual = hashlib.md5(path.read_bytes()).hexdigest()
            if (row["pmcid"], row["version"], path.name) in mismatched:
                assert actual != md5
                seen_mismatch.add((row["pmcid"], row["version"], path.name))
            else:
                assert actual == md5, url
    assert seen_mismatch == mismatched


def test_xml_parses_and_figures_and_captions_match_truth(corpus):
    articles, figures = load_truth(corpus)
    by_article: dict[tuple[str, int], list[dict]] = {}
    for f in figures:
        by_article.setdefault((f["pmcid"], f["version"]), []).append(f)
    checked_captions = 0
    for row in articles:
        folder = f"{row['pmcid']}.{row['version']}"
        data = (corpus / folder / f"{folder}.xml").read_bytes()
        if drop(row) == ("parse_jats", "xml_malformed"):
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(data, safe_parser())
            assert (row["pmcid"], row["version"]) not in by_article
            continue
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE article PUBLIC')
        root = etree.fromstring(data, safe_parser())
        ids = {el.get("pub-id-type"): el.text for el in root.iter("article-id")}
        assert ids.get("pmcid") == row["pmcid"] or ids.get("pmc") == row["pmcid"][3:]
        assert root.findtext("front/article-meta/title-group/article-title") == row["title"]
        figs = list(root.iter("fig"))
        truth = by_article.get((row["pmcid"], row["version"]), [])
        assert len(figs) == row["n_figures"] == len(truth)
        for fig, expected in zip(figs, truth):
            assert fig.get("id") == expected["fig_id"]
            assert fig.findtext("label") == expected["label"]
            assert fig.find("graphic").get(XLINK_HREF) + ".jpg" == expected["media_name"]
            assert caption_from_xml(fig) == expected["caption"]
            checked_captions += bool(expected["caption"])
            for mention in expected["mentions"]:
                citing = [collapse("".join(p.itertext())) for p in root.iter("p")
                          if any(expected["fig_id"] in x.get("rid").split() for x in p.iter("xref"))]
                assert any(mention in paragraph for paragraph in citing), mention
    assert checked_captions > 20


def test_xml_carries_markup_and_character_references(corpus):
    raw = b"".join(p.read_bytes() for p in sorted(corpus.glob("PMC*/*.xml")))
    for needle in [b"&#x2009;", b"&#160;", b"<italic>", b"<sup>", b"<bold>", b"&amp;", b"&lt;",
                   b"<floats-group>", b'pub-id-type="pmc"', b'rid="F1 F2"']:
        assert needle in raw, needle
    _, figures = load_truth(corpus)
    assert any("\u03bcm" in f["caption"] and " \u03bcm" in f["caption"] for f in figures)


def test_panel_boxes_fit_do_not_overlap_and_match_caption_labels(corpus):
    _, figures = load_truth(corpus)
    compound = 0
    for f in figures:
        path = corpus / f"{f['pmcid']}.{f['version']}" / f["media_name"]
        if f["width"] is None:
            assert not path.exists() and f["panels"] == []
            continue
        if drop(f) != ("images", "image_decode_error"):
            with Image.open(path) as image:
                assert image.size == (f["width"], f["height"]) and image.format == "JPEG"
        boxes = [p["box"] for p in f["panels"]]
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= f["width"] and 0 <= y0 < y1 <= f["height"]
        for a, b in combinations(boxes, 2):
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        labels = [p["label"] for p in f["panels"]]
        if f["compound"]:
            compound += 1
            assert 2 <= len(labels) <= 9
            if f["caption"]:
                assert re.findall(r"\(([A-Za-z])\)", f["caption"]) == labels
        else:
            assert labels == [None] and boxes == [[0, 0, f["width"], f["height"]]]
    assert compound > 10


def test_versions_share_figures_and_differ_in_wording(corpus):
    articles, figures = load_truth(corpus)
    pmcids = [r["pmcid"] for r in articles if r["version"] == 2]
    assert pmcids
    for pmcid in pmcids:
        old, new = [r for r in articles if r["pmcid"] == pmcid]
        assert (old["newest"], new["newest"]) == (False, True) and old["title"] != new["title"]
        assert old["expected_drop"] is None and new["expected_drop"] is None
        old_figs = [f for f in figures if f["pmcid"] == pmcid and f["version"] == 1]
        new_figs = [f for f in figures if f["pmcid"] == pmcid and f["version"] == 2]
        assert [f["media_name"] for f in old_figs] == [f["media_name"] for f in new_figs]
        for a, b in zip(old_figs, new_figs):
            assert (corpus / f"{pmcid}.1" / a["media_name"]).read_bytes() == \
                (corpus / f"{pmcid}.2" / b["media_name"]).read_bytes()
    assert all(r["newest"] for r in articles if r["pmcid"] not in pmcids)


def test_gif_thumbnails_sit_beside_their_jpegs(corpus):
    gifs = sorted(corpus.glob("PMC*/*.gif"))
    assert gifs
    for gif in gifs:
        jpeg = gif.with_suffix(".jpg")
        assert jpeg.exists()
        with Image.open(gif) as image:
            assert image.format == "GIF" and image.width == 120
        meta = json.loads((gif.parent / f"{gif.parent.name}.json").read_text())
        names = [url_file(corpus, u)[0].name for u in meta["media_urls"]]
        assert gif.name in names and jpeg.name in names


def test_every_broken_kind_appears_with_ten_articles_and_breaks_as_recorded(tmp_path):
    root = tmp_path / "demo"
    generate_corpus(root, articles=10, seed=0)
    articles, figures = load_truth(root)
    found = {drop(r) for r in articles + figures} - {None}
    assert found == ALL_BROKEN_REASONS
    assert all(r["version"] == 1 and r["newest"] for r in articles + figures if r["expected_drop"])
    for f in figures:
        folder = root / f"{f['pmcid']}.{f['version']}"
        path = folder / f["media_name"]
        if drop(f) == ("fetch_media", "fetch_not_found"):
            meta = (folder / f"{folder.name}.json").read_text()
            assert not path.exists() and f["media_name"] not in meta
        elif drop(f) == ("images", "image_decode_error"):
            with Image.open(path) as image, pytest.raises(OSError):
                image.load()
        elif drop(f) == ("images", "image_too_small"):
            with Image.open(path) as image:
                assert max(image.size) < 64
        elif drop(f) == ("parse_jats", "caption_missing"):
            root_el = etree.fromstring((folder / f"{folder.name}.xml").read_bytes(), safe_parser())
            fig = next(el for el in root_el.iter("fig") if el.get("id") == f["fig_id"])
            assert fig.find("caption") is None and f["caption"] == ""
    no_figures = [r for r in articles if drop(r) == ("parse_jats", "no_figures")]
    for row in no_figures:
        folder = root / f"{row['pmcid']}.{row['version']}"
        root_el = etree.fromstring((folder / f"{folder.name}.xml").read_bytes(), safe_parser())
        assert next(root_el.iter("fig"), None) is None
        assert json.loads((folder / f"{folder.name}.json").read_text())["media_urls"] == []
