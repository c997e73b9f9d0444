"""Property-based tests of the JATS parser: generated article variants, exact invariants."""

from dataclasses import dataclass

from builders import context, fetched_table, namespaced_jats, oai_pmh_record
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.parse_jats.stage import ParseJats, ParseJatsSpec

WORDS = ["cells", "growth", "coli", "mice", "TNF", "alpha", "control", "treated", "liver", "scale", "bar", "n", "3", "p", "0.05"]
MARKUP = ["italic", "bold", "sc", "underline", "monospace"]


@dataclass
class Word:
    text: str  # what the caption must read
    xml: str  # how it is written


def word_strategy():
    plain = st.sampled_from(WORDS).map(lambda w: Word(w, w))
    marked = st.tuples(st.sampled_from(WORDS), st.sampled_from(MARKUP)).map(lambda p: Word(p[0], f"<{p[1]}>{p[0]}</{p[1]}>"))
    amp = st.just(Word("&", "&amp;"))
    math = st.sampled_from(WORDS).map(
        lambda w: Word(f"{w}^2", f"<inline-formula><mml:math><mml:msup><mml:mi>{w}</mml:mi><mml:mn>2</mml:mn></mml:msup></mml:math></inline-formula>")
    )
    return st.one_of(plain, plain, marked, amp, math)


def text_strategy(min_size=1):
    # words separated by a space, a thin space (&#x2009;), a no-break space or a newline
    return st.tuples(st.lists(word_strategy(), min_size=min_size, max_size=8), st.lists(st.sampled_from([" ", "&#x2009;", "&#xa0;", "\n  "]), min_size=8, max_size=8))


@st.composite
def figure(draw, index: int):
    label = draw(st.sampled_from([f"Figure {index}", f"Fig. {index}", "Figure.", None]))
    has_caption = draw(st.booleans()) or index == 1
    title = draw(st.one_of(st.none(), text_strategy()))
    paragraphs = draw(st.lists(text_strategy(), min_size=1, max_size=3))
    place = draw(st.sampled_from(["body", "group", "floats"]))
    return {"id": f"fig-{index}", "label": label, "caption": has_caption, "title": title, "paragraphs": paragraphs, "place": place}


def render_text(text) -> tuple[str, list[str]]:
    words, separators = text
    xml = "".join(word.xml + separators[i] for i, word in enumerate(words)).rstrip()
    return xml, [word.text for word in words]


def render(figures: list[dict], prefix: str) -> tuple[bytes, dict[str, list[str]]]:
    expected, places = {}, {"body": [], "group": [], "floats": []}
    for spec in figures:
        words, caption = [], ""
        if spec["caption"]:
            title_xml = ""
            if spec["title"]:
                title_xml, title_words = render_text(spec["title"])
                title_xml, words = f"<title>{title_xml}</title>", title_words
            paragraphs = []
            for text in spec["paragraphs"]:
                xml, paragraph_words = render_text(text)
                paragraphs.append(f"<p>{xml}</p>")
                words = words + paragraph_words
            caption = f"<caption>{title_xml}{''.join(paragraphs)}</caption>"
        label = f"<label>{spec['label']}</label>" if spec["label"] else ""
        places[spec["place"]].append(f'<fig id="{spec["id"]}">{label}{caption}<graphic {prefix}:href="g-{spec["id"]}"/></fig>')
        expected[spec["id"]] = words
    group = f'<fig-group id="G1">{"".join(places["group"])}</fig-group>' if places["group"] else ""
    floats = f"<floats-group>{''.join(places['floats'])}</floats-group>" if places["floats"] else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<article xmlns:{prefix}="http://www.w3.org/1999/xlink" xmlns:mml="http://www.w3.org/1998/Math/MathML">'
        f"<front><article-meta/></front><body><sec><p>Text.</p>{''.join(places['body'])}{group}</sec></body>{floats}</article>"
    )
    return xml.encode(), expected


def parse(xml: bytes) -> list[dict]:
    return ParseJats(ParseJatsSpec(), context())(fetched_table(xml)).to_pylist()


FORMS = {"plain": lambda xml: xml, "namespaced": namespaced_jats, "oai-pmh": oai_pmh_record}


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5).flatmap(lambda n: st.tuples(*[figure(i) for i in range(1, n + 1)])),
    st.sampled_from(["xlink", "xl"]),
    st.sampled_from(sorted(FORMS)),
)
def test_every_figure_is_accounted_for_and_no_word_is_glued_or_lost(figures, prefix, form):
    figures = list(figures)
    xml, expected = render(figures, prefix)
    xml = FORMS[form](xml)
    rows = parse(xml)
    by_id = {row["fig_id"]: row for row in rows}
    assert set(by_id) == set(expected) and len(rows) == len(figures)
    for spec in figures:
        row = by_id[spec["id"]]
        assert row["label"] == spec["label"]
        if not expected[spec["id"]]:
            assert row["drop_reason"] == "caption_missing"
            continue
        assert row["drop_reason"] is None, row["drop_detail"]
        assert row["caption"] == " ".join(expected[spec["id"]])  # every word, in order, none glued, none lost
        assert row["graphic_href"] == f"g-{spec['id']}"
    assert parse(xml) == rows  # ids, keys and texts are stable from run to run
