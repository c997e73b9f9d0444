import pytest
from builders import jats

from stages.parse_jats.jats_meta import article_metadata, license_from_text, license_from_url
from stages.parse_jats.jats_text import parse_xml


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://creativecommons.org/licenses/by-nc/4.0/", "CC BY-NC"),
        ("http://creativecommons.org/licenses/by/2.0", "CC BY"),
        ("https://creativecommons.org/licenses/by-nc-sa/3.0/igo/", "CC BY-NC-SA"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
        ("http://creativecommons.org/publicdomain/mark/1.0/", "PD"),
        ("https://example.org/licenses/by/4.0/", None),
    ],
)
def test_license_from_url(url, code):
    assert license_from_url(url) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("distributed under the Creative Commons Attribution Non-Commercial License", "CC BY-NC"),
        ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International License", "CC BY-NC-ND"),
        ("the Creative Commons Attribution-ShareAlike License", "CC BY-SA"),
        ("Creative Commons CC0 public domain dedication", "CC0"),
        ("All rights reserved.", None),
    ],
)
def test_license_from_text(text, code):
    assert license_from_text(text) == code


def test_license_ref_wins_over_wording_and_ids_accept_both_spellings():
    xml = jats().replace(
        b'<article-id pub-id-type="pmcid">PMC1</article-id>',
        b'<article-id pub-id-type="pmc">77</article-id><article-id pub-id-type="pmid">5</article-id>'
        b'<permissions><license license-type="open-access"><ali:license_ref xmlns:ali="http://www.niso.org/schemas/ali/1.0/">'
        b"https://creativecommons.org/licenses/by-nd/4.0/</ali:license_ref><license-p>Creative Commons Attribution License</license-p>"
        b"</license></permissions>",
    )
    meta = article_metadata(parse_xml(xml))
    assert (meta["pmcid"], meta["pmid"], meta["license_code"]) == ("PMC77", "5", "CC BY-ND")
    assert article_metadata(parse_xml(jats()))["license_code"] == "unknown"


def test_license_source_names_the_element_and_pmcid_ver_is_accepted():
    from lxml import etree

    from stages.parse_jats.jats_meta import article_metadata

    def meta(permissions: str, ids: str) -> dict:
        xml = f'<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/"><front><article-meta>{ids}<permissions>{permissions}</permissions></article-meta></front></article>'
        return article_metadata(etree.fromstring(xml.encode()))

    ref = meta("<license><ali:license_ref>https://creativecommons.org/licenses/by/4.0/</ali:license_ref></license>", '<article-id pub-id-type="pmcid-ver">PMC123.2</article-id>')
    assert (ref["license_code"], ref["license_source"], ref["pmcid"]) == ("CC BY", "license_ref", "PMC123")
    typed = meta('<license license-type="cc-by-nc"/>', '<article-id pub-id-type="pmc">77</article-id>')
    assert (typed["license_code"], typed["license_source"], typed["pmcid"]) == ("CC BY-NC", "license_type", "PMC77")
    statement = meta("<copyright-statement>All rights reserved.</copyright-statement>", "")
    assert (statement["license_code"], statement["license_source"]) == ("other", "copyright_statement")
