"""Hostile and broken JATS (DESIGN §5): each case ends as a clear drop reason and no local file is read."""

import json

import pyarrow as pa
from builders import context, fetched_table, fig, jats

from schemas.records import CURATED, conform
from stages.filters.stage import Filters, FiltersSpec
from stages.parse_jats.stage import ParseJats, ParseJatsSpec

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
BODY = '<article xmlns:xlink="http://www.w3.org/1999/xlink"><body><sec>{}</sec></body></article>'


def parse(xml: bytes) -> list[dict]:
    media = [{"name": "g1.jpg", "key": "PMC1.1/g1.jpg", "md5": None}]
    return ParseJats(ParseJatsSpec(), context())(fetched_table(xml, media)).to_pylist()


def test_xxe_never_reads_the_local_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("MARKER-7f3a9c")
    doctype = f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    caption = "<p>Leak: &xxe; here.</p>"
    rows = parse((HEAD + doctype + BODY.format(fig("F1", "Figure 1", caption, "g1"))).encode())
    assert "MARKER-7f3a9c" not in json.dumps(rows, default=str)
    assert [r["fig_id"] for r in rows] == ["F1"] and rows[0]["caption"] == "Leak: here."


def test_billion_laughs_is_not_expanded():
    entities = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10))
    caption = "<p>Boom &lol9; end.</p>"
    rows = parse((HEAD + f"<!DOCTYPE article [{entities}]>" + BODY.format(fig("F1", "Figure 1", caption, "g1"))).encode())
    # libxml2 refuses the amplification outright: the article is dropped, nothing is expanded
    assert [(r["drop_reason"], "amplification" in r["drop_detail"]) for r in rows] == [("xml_malformed", True)]


def test_external_dtd_is_declared_not_fetched():
    doctype = '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "http://127.0.0.1:9/never-served.dtd">'
    rows = parse((HEAD + doctype + BODY.format(fig("F1", "Figure 1", "<p>Fine &#x3bc;m.</p>", "g1"))).encode())
    assert rows[0]["drop_reason"] is None and rows[0]["caption"] == "Fine \u03bcm."


def test_invalid_utf8_is_an_article_level_xml_malformed_drop():
    xml = (HEAD + BODY.format(fig("F1", "Figure 1", "<p>ok</p>", "g1"))).encode().replace(b"ok", b"o\xff\xfek")
    (row,) = parse(xml)
    assert row["drop_reason"] == "xml_malformed" and row["drop_stage"] == "parse_jats"


def test_empty_href_and_missing_graphic_are_graphic_missing():
    body = fig("F1", "Figure 1", href=None) + '<fig id="F2"><label>Figure 2</label><caption><p>C.</p></caption><graphic xlink:href=""/></fig>'
    rows = parse(jats(body=f"<sec>{body}</sec>"))
    assert [(r["fig_id"], r["drop_reason"]) for r in rows] == [("F1", "graphic_missing"), ("F2", "graphic_missing")]


def test_mathml_reads_as_plain_text_and_tex_alternatives_are_left_out():
    formula = (
        '<inline-formula><alternatives><tex-math>x^2</tex-math><mml:math><mml:msup><mml:mi>x</mml:mi><mml:mn>2</mml:mn></mml:msup>'
        "<mml:mo>+</mml:mo><mml:mfrac><mml:mi>a</mml:mi><mml:mi>b</mml:mi></mml:mfrac><mml:mo>+</mml:mo>"
        "<mml:msub><mml:mi>y</mml:mi><mml:mi>i</mml:mi></mml:msub><mml:mo>+</mml:mo><mml:msqrt><mml:mi>z</mml:mi></mml:msqrt>"
        '<mml:annotation encoding="TeX">x^2+a/b</mml:annotation></mml:math></alternatives></inline-formula>'
    )
    xml = jats(body=f"<sec>{fig('F1', 'Figure 1', f'<p>Fit {formula} shown.</p>', 'g1')}</sec>")
    (row,) = parse(xml)
    assert row["caption"] == "Fit x^2+a/b+y_i+sqrt(z) shown."


def test_a_one_megabyte_caption_is_parsed_whole_then_dropped_by_the_caption_filter():
    caption = "<p>" + "word " * 210_000 + "</p>"
    (row,) = parse(jats(body=f"<sec>{fig('F1', 'Figure 1', caption, 'g1')}</sec>"))
    assert row["drop_reason"] is None and len(row["caption"]) > 1_000_000
    sample = {**row, "image": None, "image_width": 400, "image_height": 300}
    (filtered,) = Filters(FiltersSpec(), context())(conform(pa.Table.from_pylist([sample]), CURATED)).to_pylist()
    assert filtered["drop_reason"] == "caption_too_long" and filtered["drop_stage"] == "filters"
