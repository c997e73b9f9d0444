"""JATS in every form PMC serves, and where each figure sits.

The real articles of ../shared/realdata/pmc (skipped when absent) are rewritten as PMC's OAI-PMH
service and newer renditions serve them (JATS 1.3 default namespace, no DOCTYPE; inside an
OAI-PMH GetRecord envelope): every form gives the same records as the plain file.
"""

import pytest
from builders import context, fetched_table, fig, jats, namespaced_jats, oai_pmh_record
from pydantic import ValidationError

from pipeline.evaluation.evaluate import REALDATA_PMC
from pipeline.figures import figure_records
from stages.parse_jats.jats_meta import article_metadata
from stages.parse_jats.jats_text import parse_xml
from stages.parse_jats.stage import ParseJats, ParseJatsSpec

REAL_ARTICLES = sorted(REALDATA_PMC.rglob("*.nxml")) if REALDATA_PMC.is_dir() else []
FORMS = {"namespaced": namespaced_jats, "oai-pmh": oai_pmh_record}


def rewritten(original, tmp_path, form):
    """The article in ``form``, in a folder of the same name whose other files link to the original's media."""
    folder = tmp_path / form / original.parent.name
    folder.mkdir(parents=True)
    for media in original.parent.iterdir():
        if media != original and media.is_file():
            (folder / media.name).symlink_to(media)
    (folder / original.name).write_bytes(FORMS[form](original.read_bytes()))
    return folder / original.name


@pytest.mark.skipif(not REAL_ARTICLES, reason="../shared/realdata/pmc is not present")
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("original", REAL_ARTICLES, ids=[p.name for p in REAL_ARTICLES])
def test_a_real_article_gives_the_same_records_in_every_form(original, form, tmp_path):
    plain = figure_records(original)
    other = figure_records(rewritten(original, tmp_path, form))
    assert plain
    for row in plain + other:
        row.pop("xml_key", None)
    assert other == plain


@pytest.mark.skipif(not REAL_ARTICLES, reason="../shared/realdata/pmc is not present")
@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_real_articles_metadata_and_license_are_the_same_in_every_form(form):
    """What the fetch stage reads when the source has no metadata JSON (packages): ids, license, flags."""
    for original in REAL_ARTICLES:
        plain = article_metadata(parse_xml(original.read_bytes()))
        assert article_metadata(parse_xml(FORMS[form](original.read_bytes()))) == plain, original.name
        assert plain["pmcid"] and plain["license_code"], original.name


@pytest.mark.skipif(not REAL_ARTICLES, reason="../shared/realdata/pmc is not present")
def test_the_real_articles_hold_figures_with_mentions_and_metadata_to_compare():
    records = [row for original in REAL_ARTICLES for row in figure_records(original) if row.get("fig_id")]
    assert len(records) >= 20 and sum(bool(row["mentions"]) for row in records) >= 20
    assert sum(bool(row["journal"]) for row in records) >= 20


def test_the_oai_envelope_and_namespace_are_gone_and_mathml_stays():
    xml = jats('<p>See <inline-formula><mml:math><mml:mi>x</mml:mi></mml:math></inline-formula>.</p>')
    article = parse_xml(oai_pmh_record(xml))
    assert article.tag == "article" and article.getparent() is None
    assert article.find("body/p") is not None
    assert article.find("body/p/inline-formula/{http://www.w3.org/1998/Math/MathML}math") is not None


def test_a_document_without_an_article_finds_no_figures():
    envelope = b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="idDoesNotExist">no such record</error></OAI-PMH>'
    (row,) = ParseJats(ParseJatsSpec(), context())(fetched_table(envelope)).to_pylist()
    assert row["drop_reason"] == "no_figures"


def figure(fig_id: str, label: str | None = "Figure 1") -> str:
    return fig(fig_id, label, caption=f"<p>Caption of {fig_id}.</p>", href=fig_id)


def article_with_every_context() -> bytes:
    graphical = f'<abstract abstract-type="graphical">{figure("GA", label=None)}</abstract>'
    xml = jats(
        body=f"<sec>{figure('F1')}<boxed-text>{figure('B1')}</boxed-text></sec>",
        back=f"<app-group><app>{figure('A1')}</app></app-group>{figure('K1')}",
        floats=(
            f"<floats-group>{figure('F2')}</floats-group>"
            f'<sub-article article-type="translation"><body>{figure("T1", "Figura 1")}<boxed-text>{figure("T2")}</boxed-text></body></sub-article>'
            f'<sub-article article-type="reply"><body>{figure("R1", "Author response image 1")}</body></sub-article>'
        ),
    )
    return xml.replace(b"<article-meta>", b"<article-meta>" + graphical.encode())


CONTEXT_OF = {
    "GA": "graphical-abstract", "F1": "main", "B1": "boxed-text", "A1": "appendix", "K1": "back", "F2": "floats",
    "T1": "sub-article:translation", "T2": "sub-article:translation", "R1": "sub-article:reply",
}  # fmt: skip


def parse_with(xml: bytes, **spec) -> dict[str, dict]:
    rows = ParseJats(ParseJatsSpec(**spec), context())(fetched_table(xml)).to_pylist()
    return {row["fig_id"]: row for row in rows}


@pytest.mark.parametrize("form", ["plain", *sorted(FORMS)])
def test_each_figure_says_where_it_sits_and_the_default_takes_the_articles_own(form):
    xml = article_with_every_context()
    rows = parse_with(xml if form == "plain" else FORMS[form](xml))
    assert {key: row["figure_context"] for key, row in rows.items()} == CONTEXT_OF
    taken = {key for key, row in rows.items() if row["drop_reason"] is None}
    assert taken == {"F1", "B1", "A1", "K1", "F2"}
    for key in set(rows) - taken:
        assert rows[key]["drop_reason"] == "figure_context_excluded"
        assert rows[key]["drop_detail"] == f"{key} is in {CONTEXT_OF[key]}"
    # every figure keeps its place in the article's order, taken or not: keys do not move with the policy
    assert [row["figure_index"] for row in rows.values()] == list(range(1, len(rows) + 1))


def test_the_config_chooses_contexts_by_sub_article_type_or_all_sub_articles():
    only_replies = parse_with(article_with_every_context(), contexts=["main", "sub-article:reply", "graphical-abstract"])
    assert {key for key, row in only_replies.items() if row["drop_reason"] is None} == {"F1", "R1", "GA"}
    every_sub_article = parse_with(article_with_every_context(), contexts=["sub-article"])
    assert {key for key, row in every_sub_article.items() if row["drop_reason"] is None} == {"T1", "T2", "R1"}
    default = parse_with(article_with_every_context())
    assert default["F1"]["figure_index"] == only_replies["F1"]["figure_index"] == every_sub_article["F1"]["figure_index"]


def test_an_unknown_context_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown figure contexts \\['sidebar'\\]"):
        ParseJatsSpec(contexts=["main", "sidebar"])
