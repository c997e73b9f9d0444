from builders import context, fetched_table, fig, jats

from stages.parse_jats.stage import ParseJats, ParseJatsSpec, resolve_media


def parse(xml: bytes, media=None, **spec):
    return ParseJats(ParseJatsSpec(**spec), context())(fetched_table(xml, media)).to_pylist()


def media(*names):
    return [{"name": n, "key": f"PMC1.1/{n}", "md5": "0" * 32} for n in names]


def test_caption_text_flattens_markup_without_gluing_words():
    caption = (
        "<title>Growth of <italic>E. coli</italic>.</title>"
        "<p>Cells of <italic>E. coli</italic> were grown; GFP<sup>+</sup> cells, scale 50&#x2009;&#x3bc;m.</p>"
        "<p>Second paragraph.</p>"
    )
    rows = parse(jats(body=f"<sec><p>Text.</p>{fig('F1', 'Figure 1', caption, 'img.g001')}</sec>"), media("img.g001.jpg"))
    assert len(rows) == 1
    row = rows[0]
    assert row["drop_reason"] is None
    assert row["caption_title"] == "Growth of E. coli."
    assert row["caption"] == "Growth of E. coli. Cells of E. coli were grown; GFP+ cells, scale 50 \u03bcm. Second paragraph."
    assert row["label"] == "Figure 1"
    assert row["sample_key"] == "PMC1v1-f001"
    assert row["media_key"] == "PMC1.1/img.g001.jpg"


def test_figures_in_floats_group_and_body_in_document_order_tables_excluded():
    table = '<table-wrap id="T1"><caption><p>Table.</p></caption><graphic xlink:href="tab1"/></table-wrap>'
    body = f"<sec>{fig('F1', 'Figure 1', href='a.g001')}{table}</sec>"
    floats = f"<floats-group>{fig('F2', 'Figure 2', href='a.g002')}</floats-group>"
    rows = parse(jats(body=body, floats=floats), media("a.g001.jpg", "a.g002.jpg", "tab1.jpg"))
    assert [(r["fig_id"], r["figure_index"]) for r in rows] == [("F1", 1), ("F2", 2)]


def test_figure_without_caption_is_dropped_with_its_identity_and_others_survive():
    body = fig("F1", "Figure 1", caption=None, href="x1") + fig("F2", "Figure 2", href="x2")
    rows = parse(jats(body=body), media("x1.jpg", "x2.jpg"))
    by_fig = {r["fig_id"]: r for r in rows}
    assert by_fig["F1"]["drop_reason"] == "caption_missing"
    assert by_fig["F1"]["drop_stage"] == "parse_jats"
    assert by_fig["F1"]["sample_key"] == "PMC1v1-f001"
    assert by_fig["F2"]["drop_reason"] is None


def test_malformed_xml_and_no_figures_are_article_level_drops():
    truncated = jats(body=fig("F1", href="x"))[:-40]
    (row,) = parse(truncated)
    assert (row["drop_reason"], row["figure_index"], row["sample_key"]) == ("xml_malformed", None, None)
    (row,) = parse(jats(body="<sec><p>No figures here.</p></sec>"))
    assert row["drop_reason"] == "no_figures"


def test_external_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    xml = jats(body=fig("F1", caption="<p>Leak: &xxe; end.</p>", href="x"), doctype=doctype)
    rows = parse(xml, media("x.jpg"))
    assert all("TOPSECRET" not in (r["caption"] or "") for r in rows)


def test_media_resolution_takes_full_size_jpg_not_gif_and_keeps_dots():
    entries = {e["name"]: e for e in media("pone.0046493.g001.gif", "pone.0046493.g001.jpg")}
    assert resolve_media("pone.0046493.g001", entries)["name"] == "pone.0046493.g001.jpg"
    only_gif = {e["name"]: e for e in media("b.g001.gif")}
    assert resolve_media("b.g001", only_gif) is None
    assert resolve_media("absent", entries) is None


def test_unlisted_graphic_gets_conventional_key_for_fetch_to_report():
    (row,) = parse(jats(body=fig("F1", href="missing.g001")), media())
    assert row["drop_reason"] is None
    assert row["media_key"] == "PMC1.1/missing.g001.jpg"
    assert row["media_md5"] is None


def test_mentions_collect_citing_sentences_with_rid_lists():
    body = (
        '<sec><p>Intro sentence. As shown in <xref ref-type="fig" rid="F1">Figure 1A</xref>, cells grow. '
        'Both <xref ref-type="fig" rid="F1 F2">Figs. 1 and 2</xref> agree. Unrelated.</p>'
        f"{fig('F1', href='a')}{fig('F2', href='b')}</sec>"
    )
    rows = parse(jats(body=body), media("a.jpg", "b.jpg"))
    mentions = {r["fig_id"]: r["mentions"] for r in rows}
    assert mentions["F1"] == ["As shown in Figure 1A, cells grow.", "Both Figs. 1 and 2 agree."]
    assert mentions["F2"] == ["Both Figs. 1 and 2 agree."]


def test_article_details_figure_license_and_mentioned_panels():
    front = (
        "<front><journal-meta><journal-title-group><journal-title>Demo J</journal-title></journal-title-group></journal-meta>"
        '<article-meta><article-id pub-id-type="pmcid">PMC1</article-id>'
        "<article-categories><subj-group><subject>Research Article</subject><subj-group><subject>Oncology</subject></subj-group></subj-group></article-categories>"
        '<pub-date pub-type="ppub"><year>2013</year></pub-date><pub-date pub-type="epub"><year>2012</year></pub-date>'
        "<kwd-group><kwd>cancer</kwd><kwd>stage</kwd></kwd-group></article-meta></front>"
    )
    permissions = '<permissions><license xlink:href="https://creativecommons.org/licenses/by-nc/4.0/"><license-p>NC</license-p></license></permissions>'
    own = f'<fig id="F2"><label>Figure 2</label><caption><p>Reused.</p></caption>{permissions}<graphic xlink:href="b2"/></fig>'
    body = (
        '<sec><p>As Figure 1B shows, and in Figs. 1C-E, growth slowed (<xref ref-type="fig" rid="F1">Figure 1B</xref>). '
        'Then <xref ref-type="fig" rid="F1">Fig. 1C&#x2013;E</xref> confirm it.</p>'
        f"{fig('F1', 'Figure 1', href='b1')}{own}"
        '<table-wrap id="T1"><graphic xlink:href="t1"/></table-wrap><disp-formula><graphic xlink:href="e1"/></disp-formula>'
        '<p>Inline <inline-graphic xlink:href="i1"/>.</p><supplementary-material id="S1"><media xlink:href="s1.pdf"/></supplementary-material></sec>'
    )
    xml = jats(body=body).replace(b'<front><article-meta><article-id pub-id-type="pmcid">PMC1</article-id></article-meta></front>', front.encode())
    xml = xml.replace(b"<article ", b'<article article-type="research-article" ')
    first, second = parse(xml, media("b1.jpg", "b2.jpg"))
    for row in (first, second):
        assert (row["journal"], row["year"], row["subjects"], row["keywords"]) == ("Demo J", 2012, ["Research Article", "Oncology"], ["cancer", "stage"])
        assert (row["article_table_images"], row["article_formula_images"], row["article_supplements"]) == (1, 2, 1)
        assert row["article_type"] == "research-article"
    assert first["mention_panels"] == ["b", "c", "d", "e"]
    assert second["mention_panels"] == []
    assert (first["figure_license"], second["figure_license"]) == (None, "CC BY-NC")


def test_fig_group_caption_is_shared_context_and_several_graphics_take_the_resolvable_one():
    group = (
        '<fig-group id="G1"><caption><p>Shared context.</p></caption>'
        f"{fig('F1', 'Figure 1A', '<p>Left.</p>', 'g.1a')}{fig('F2', 'Figure 1B', '<p>Right.</p>', 'g.1b')}</fig-group>"
    )
    several = (
        '<fig id="F3"><label>Figure 2</label><caption><p>Two files.</p></caption>'
        '<alternatives><graphic xlink:href="g.2-print"/><graphic xlink:href="g.2"/></alternatives></fig>'
    )
    rows = {r["fig_id"]: r for r in parse(jats(body=f"<sec>{group}{several}</sec>"), media("g.1a.jpg", "g.1b.jpg", "g.2.jpg"))}
    assert (rows["F1"]["caption"], rows["F2"]["caption"]) == ("Shared context. Left.", "Shared context. Right.")
    assert (rows["F3"]["graphic_hrefs"], rows["F3"]["graphic_href"], rows["F3"]["media_key"]) == (["g.2-print", "g.2"], "g.2", "PMC1.1/g.2.jpg")


def test_sub_article_figures_are_kept_with_unique_keys():
    sub = f'<sub-article id="SA1" article-type="reply"><body><sec>{fig("F1", "Figure R1", href="r1")}</sec></body></sub-article>'
    xml = jats(body=f"<sec>{fig('F1', 'Figure 1', href='m1')}</sec>").replace(b"</article>", sub.encode() + b"</article>")
    rows = parse(xml, media("m1.jpg", "r1.jpg"), contexts=["main", "sub-article:reply"])
    assert [(r["label"], r["sample_key"], r["media_key"], r["figure_context"]) for r in rows] == [
        ("Figure 1", "PMC1v1-f001", "PMC1.1/m1.jpg", "main"),
        ("Figure R1", "PMC1v1-f002", "PMC1.1/r1.jpg", "sub-article:reply"),
    ]
    by_default = parse(xml, media("m1.jpg", "r1.jpg"))
    assert [(r["sample_key"], r["drop_reason"]) for r in by_default] == [("PMC1v1-f001", None), ("PMC1v1-f002", "figure_context_excluded")]


def test_mentions_are_found_by_the_citations_position_not_their_text():
    body = (
        '<sec><p>We used 1 mM drug in 2019. Growth fell (Figure <xref ref-type="fig" rid="F1">1</xref>). '
        'Mice lost weight (<xref ref-type="fig" rid="F2">Fig. 2B</xref>). Rats did too (<xref ref-type="fig" rid="F2">Fig. 2B</xref>).</p>'
        f"{fig('F1', 'Figure 1', href='a1')}{fig('F2', 'Figure 2', href='a2')}</sec>"
    )
    first, second = parse(jats(body=body), media("a1.jpg", "a2.jpg"))
    assert first["mentions"] == ["Growth fell (Figure 1)."]  # not the first sentence holding a "1"
    assert second["mentions"] == ["Mice lost weight (Fig. 2B).", "Rats did too (Fig. 2B)."]  # the same citation twice
