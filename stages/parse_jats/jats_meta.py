"""Article metadata read from the JATS XML itself, for sources without a metadata JSON (packages).

Fields as the fetch stage reads them from the bucket's JSON: ``pmcid``, ``pmid``, ``doi``, ``title``
and ``license_code``. The license follows DESIGN §4: ``<ali:license_ref>``, then the ``<license>``
element's ``xlink:href`` and ``license-type``, then the ``<license-p>`` text (its links or its
wording), then the ``<copyright-statement>``.
"""

from __future__ import annotations

import re

from lxml import etree

from stages.parse_jats.jats_text import XLINK_HREF, element_text, local_name
from stages.parse_jats.licenses import KNOWN, normalise_license

_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)", re.IGNORECASE)
_PMC_ID_TYPES = ("pmcid", "pmc")


def license_from_url(url: str) -> str | None:
    """``https://creativecommons.org/licenses/by-nc/4.0/`` -> ``CC BY-NC``; None if not a CC URL."""
    match = _CC_URL.search(url)
    if not match:
        return None
    kind, name = match.group(1).lower(), match.group(2).lower()
    if kind == "publicdomain":
        return {"zero": "CC0", "mark": "PD"}.get(name)
    code = normalise_license(f"CC {name}")
    return code if code in KNOWN else None


def license_from_text(text: str) -> str | None:
    """A license named in prose: a CC link, or wording such as "Creative Commons Attribution-NonCommercial"."""
    from_url = license_from_url(text)
    if from_url:
        return from_url
    words = re.sub(r"[\s-]+", " ", text.lower())
    if "cc0" in words or "public domain dedication" in words:
        return "CC0"
    if "creative commons attribution" in words:
        parts = [
            part
            for part, spellings in (("NC", ("noncommercial", "non commercial")), ("SA", ("sharealike", "share alike")), ("ND", ("noderiv", "no deriv")))
            if any(spelling in words for spelling in spellings)
        ]
        return "CC BY" + "".join(f"-{part}" for part in parts)
    if "public domain" in words:
        return "PD"
    return None


def article_license(article_meta) -> tuple[str, str | None]:
    """(normalised code, the raw value it came from) of an ``<article-meta>``'s ``<permissions>``
    (NLM 2.x files put the ``<copyright-statement>`` directly in ``<article-meta>``)."""
    code, raw, _ = license_with_source(article_meta)
    return code, raw


def license_with_source(article_meta) -> tuple[str, str | None, str | None]:
    """``article_license`` and the element it was read from: license_ref, license_href,
    license_type, license_text or copyright_statement (None when there is nothing)."""
    if article_meta is None:
        return "unknown", None, None
    permissions = article_meta.find("permissions")
    for license in (permissions.iter("license") if permissions is not None else ()):
        for ref in license.iter():
            if local_name(ref) == "license_ref" and ref.text:
                code = license_from_url(ref.text)
                if code:
                    return code, ref.text.strip(), "license_ref"
        href = license.get(XLINK_HREF)
        if href and license_from_url(href):
            return license_from_url(href), href, "license_href"
        license_type = license.get("license-type")
        if license_type and normalise_license(license_type) in KNOWN:
            return normalise_license(license_type), license_type, "license_type"
        links = [link.get(XLINK_HREF) or "" for link in license.iter("ext-link")]
        text = element_text(license)
        for candidate in [*links, text]:
            code = license_from_text(candidate)
            if code:
                return code, (candidate if candidate in links else text[:200]), "license_text"
    holder = permissions if permissions is not None and permissions.find("copyright-statement") is not None else article_meta
    statement = element_text(holder.find("copyright-statement"))
    code = license_from_text(statement) if statement else None
    if code:
        return code, statement[:200], "copyright_statement"
    return ("other", statement[:200], "copyright_statement") if statement else ("unknown", None, None)


def article_metadata(root: etree._Element) -> dict:
    """The metadata fields fetch needs, from a parsed article (front matter of the main article)."""
    meta_element = root.find("front/article-meta")
    ids: dict[str, str] = {}
    if meta_element is not None:
        for article_id in meta_element.findall("article-id"):
            id_type, value = article_id.get("pub-id-type"), element_text(article_id)
            if id_type and value and id_type not in ids:
                ids[id_type] = value
    pmc = next((ids[t] for t in _PMC_ID_TYPES if t in ids), None)
    if pmc is None and "pmcid-ver" in ids:  # PMC123.2: the id without its version
        pmc = ids["pmcid-ver"].split(".")[0]
    license_code, license_raw, license_source = license_with_source(meta_element)
    title = element_text(meta_element.find("title-group/article-title")) if meta_element is not None else ""
    return {
        "pmcid": None if pmc is None else "PMC" + pmc.upper().removeprefix("PMC"),
        "pmid": ids.get("pmid"),
        "doi": ids.get("doi"),
        "title": title or None,
        "license_code": license_code,
        "license_raw": license_raw,
        "license_source": license_source,
    }


def article_details(root: etree._Element) -> dict:
    """Journal, year, subjects, keywords and what the article holds besides figures."""
    meta = root.find("front/article-meta")
    journal = root.find("front/journal-meta")
    journal_title = None
    if journal is not None:
        title = journal.find(".//journal-title")
        journal_title = element_text(title) or None
    years = {}
    for date in meta.findall("pub-date") if meta is not None else []:
        year = element_text(date.find("year"))
        if year.isdigit():
            years.setdefault(date.get("pub-type") or date.get("date-type") or "", int(year))
    year = next((years[kind] for kind in ("epub", "pub", "ppub", "collection") if kind in years), min(years.values(), default=None))
    subjects = [element_text(s) for s in meta.iterfind("article-categories//subject")] if meta is not None else []
    keywords = [element_text(k) for k in meta.iterfind(".//kwd-group/kwd")] if meta is not None else []
    return {
        "journal": journal_title,
        "year": year,
        "subjects": [s for s in subjects if s],
        "keywords": [k for k in keywords if k],
        "article_table_images": sum(1 for table in root.iter("table-wrap") if table.find(".//graphic") is not None),
        "article_formula_images": sum(1 for _ in root.iterfind(".//disp-formula//graphic")) + sum(1 for _ in root.iter("inline-graphic")),
        "article_supplements": sum(1 for _ in root.iter("supplementary-material")),
    }


def figure_license(fig: etree._Element) -> str | None:
    """The license of a figure's own ``<permissions>`` (None when it has none: the article's applies)."""
    if fig.find("permissions") is None:
        return None
    code, _ = article_license(fig)
    return code
