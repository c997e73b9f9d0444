"""Safe XML parsing and text flattening for JATS (DESIGN §4, §5)."""

from __future__ import annotations

import re

from lxml import etree

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_SPACES = re.compile(r"\s+")


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes: no entity expansion, no network, no DTD loading, no huge trees.

    The external DOCTYPE of PMC files is kept as a declaration and never fetched; numeric
    character references still resolve. What comes back is the JATS ``<article>`` in plain form
    (``jats_article``), whichever form PMC served it in.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
    root = etree.fromstring(data, parser)
    for entity in list(root.iter(etree.Entity)):  # unexpanded references (&xxe;) carry no text we can trust
        _remove_keeping_tail(entity)
    return jats_article(root)


def jats_article(root: etree._Element) -> etree._Element:
    """The document's ``<article>`` with its JATS elements in no namespace.

    PMC's OAI-PMH service wraps the article in an ``<OAI-PMH>`` envelope (one article per
    record; the first record's is taken) and puts every JATS element in the JATS 1.3 default
    namespace; any JATS document may declare a default namespace. Both become the plain form every
    other function reads. Elements of other namespaces (MathML, XLink attributes) are left as
    they are. A document holding no ``<article>`` is returned unchanged.
    """
    article = root if local_name(root) == "article" else next(
        (element for element in root.iter() if isinstance(element.tag, str) and local_name(element) == "article"), None
    )  # fmt: skip
    if article is None:
        return root
    if article.getparent() is not None:
        article.getparent().remove(article)
    namespace = etree.QName(article).namespace
    if namespace:
        for element in article.iter():
            if isinstance(element.tag, str) and etree.QName(element).namespace == namespace:
                element.tag = etree.QName(element).localname
        etree.cleanup_namespaces(article)
    return article


def _remove_keeping_tail(node) -> None:
    parent, previous = node.getparent(), node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + (node.tail or "")
    else:
        parent.text = (parent.text or "") + (node.tail or "")
    parent.remove(node)


def normalise_space(text: str) -> str:
    # \s in Python's re covers Unicode spaces such as U+2009 and U+00A0.
    return _SPACES.sub(" ", text).strip()


def element_text(element: etree._Element | None) -> str:
    """All text inside ``element`` with inline markup flattened, nothing added or removed between nodes.

    MathML reads as plain text: ``x^2``, ``x_i``, ``a/b``, ``sqrt(x)``; TeX alternatives and
    MathML annotations, which repeat the formula, are left out. (Unexpanded entity references are
    removed by ``parse_xml``.)
    """
    if element is None:
        return ""
    if next(element.iter(*_FORMULA_TAGS), None) is None:
        return normalise_space("".join(element.itertext()))  # no formula inside: the fast path
    return normalise_space(_text(element))


_FORMULA_TAGS = ("{*}math", "math", "{*}tex-math", "tex-math")


_MATH_FORMS = {"msup": "{0}^{1}", "msub": "{0}_{1}", "msubsup": "{0}_{1}^{2}", "mfrac": "{0}/{1}", "mroot": "root({0}, {1})"}
_SKIPPED = {"annotation", "annotation-xml"}


def _text(element: etree._Element) -> str:
    name = local_name(element)
    children = [child for child in element if isinstance(child.tag, str)]
    if name in _MATH_FORMS and len(children) >= _MATH_FORMS[name].count("{"):
        return _MATH_FORMS[name].format(*(_text(child).strip() for child in children))
    if name == "msqrt":
        return f"sqrt({''.join(_text(child) for child in children).strip()})"
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and not _skipped(child):
            parts.append(_text(child))
        parts.append(child.tail or "")  # comments and processing instructions keep only their tail
    return "".join(parts)


def _skipped(child: etree._Element) -> bool:
    name = local_name(child)
    if name in _SKIPPED:
        return True
    # <alternatives> holding both: read the MathML, not the TeX
    return name == "tex-math" and any(local_name(sibling) == "math" for sibling in child.getparent())


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
