"""Safe XML parsing and text flattening for JATS (DESIGN §4, §5)."""

from __future__ import annotations

import re

from lxml import etree

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_SPACES = re.compile(r"\s+")


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes: no entity expansion, no network, no DTD loading, no huge trees.

    The external DOCTYPE of PMC files is kept as a declaration and never fetched; numeric
    character references still resolve.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
    return etree.fromstring(data, parser)


def normalise_space(text: str) -> str:
    # \s in Python's re covers Unicode spaces such as U+2009 and U+00A0.
    return _SPACES.sub(" ", text).strip()


def element_text(element: etree._Element | None) -> str:
    """All text inside ``element`` with inline markup flattened, nothing added or removed between nodes."""
    if element is None:
        return ""
    return normalise_space("".join(element.itertext()))


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
