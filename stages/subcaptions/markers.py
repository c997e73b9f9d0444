"""Label markers in a caption, found on spaCy tokens (``spacy.blank("en")``: rules only, no model).

A marker is a parenthesised (or square-bracketed) label expression (``(A)``, ``(a-c)``, ``(A to
C)``, ``(C and D)``, ``(ii)``, ``(left)``, ``(Panel a)``, ``[B]``) or, at the start of a sentence or
clause, a label followed by ``)``, ``.``, ``:`` or a dash (``A)``, ``B.``, ``Top:``, ``Panel B:``,
``Panel B,``, ``C - Sagittal``). A marker right after a figure reference or a word
such as ``see``, ``as`` or ``panel`` cites a panel and is not a split point. Weaker forms count only
when they continue a run of labels (``a``, then ``b`` ...): a marker after ``in``, ``of``, ``with``
... (``staining of (A) liver; (B) kidney``) unless another marker names the same panel on its own
(``as in (A)``), a label with a description (``(C, arrows)``), a label and a comma at a clause start (``A,
anterior; B, posterior``), a lone label before a word (``a Parasagittal CT ... b Coronal CT``, ``a
Gleason grade 2, b Gleason grade 3``; ``A protein ... B survival``, where an ``A`` before a
lowercase word would otherwise be the article), ``B)``, ``B:`` or ``B.`` inside a sentence or after
a list comma (``... fistula, B: Color Doppler``), ``A.`` before a lowercase
word that is no species epithet (``A. composite of cranium; B. right maxilla``, not ``A.
thaliana``), a label listed after ``in`` (``in A, dorsal; B, ventral views``), and ``Panel A shows
...`` (kept in the text). Filters (``marker_filters.py``) then drop markers that are no labels: position words among
lettered panels, a letter with a number where the plain letter names a panel, single letters in the caption's minority case (or in the case whose letters start
again inside each panel of the other), letters far outside the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from stages.runtime.nlp import BoundedNlp
from stages.subcaptions.labels import LABEL_JOINER, parse_label_expression, position_label
from stages.subcaptions.text import after_list_comma, at_clause_start

# A marker right after one of these cites a panel: "see (B)", "Fig. 2 (C)", "as (A)".
CITING_WORDS = {
    "fig", "fig.", "figs", "figs.", "figure", "figures", "panel", "panels", "see", "as", "than", "vs", "vs.",
    "versus", "like", "cf", "cf.", "compare", "also", "same",
}  # fmt: skip
# After these it may cite ("as in (A)") or introduce ("staining of (A) liver; (B) lung"): a label
# only inside a run, and only when no other marker names the same panel.
RELATION_WORDS = {"in", "of", "from", "to", "with", "at", "by", "on", "for"}
_BARE_MARKER = re.compile(r"^(?P<label>[A-Za-z]\d{0,2}|\d{1,2}|[ivxIVX]{1,4})(?P<punct>[.:)])$")
_FIGURE_NUMBER_END = re.compile(r"\b(?:fig|figs|figure|figures)\.?\s*\d+[a-z]?\s*$", re.IGNORECASE)
# A lowercase word after "B." that is a name, not a species epithet: "p63", "apo-hIRE1", "siRNA";
# matched on the caption's text, as the tokenizer splits "apo-hIRE1" at its hyphen.
_NAMED_THING = re.compile(r"[a-z][\w\-]*(?:\d|[A-Z])|[α-ω]")  # "B. αENaC", "C. β-catenin": no epithet starts in Greek
# How a species epithet ends (``A. thaliana``, ``E. coli``, ``B. subtilis``): after ``A.`` such a word names a species, not a panel.
_EPITHET = re.compile(r"(?:us|is|ii|ae|um|ensis|oides|ans|ens|ica|ata|ina|ana|ella|ula|ia|eri|i)$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z\-]*$")
# Words after which a letter is no label but a word or a name: "vitamin A and", "group B is".
_NOT_LABEL_WORDS = ("and", "or", "to", "is", "was")
_LISTED_LABELS = re.compile(rf"(?P<labels>[A-Za-z]\d?(?:{LABEL_JOINER}[A-Za-z]\d?)+)\.\s+(?=[A-Z])")


@dataclass(frozen=True)
class Marker:
    start: int  # character offsets of the marker in the caption
    end: int
    labels: tuple[str, ...]
    position: bool  # a position word (left, top, ...) rather than a letter or number
    trailing: bool  # followed by punctuation or the end: the label closes its text
    weak: bool = False  # a form that is a label only when it continues a run of labels
    related: bool = False  # after "in", "of", "with" ...: a citation when another marker names its panel
    described: bool = False  # a parenthesis with a description beside its labels: "(C, arrows)"
    after_colon: bool = False  # "Frontal view : A, internal view : B": starts at the colon, closes the item before it
    article: bool = False  # "a"/"A" before a lower-case word: a label only when a lone "b" follows it


def _blank_english():
    import spacy

    return spacy.blank("en")


tokenizer = BoundedNlp(_blank_english)


class Token(NamedTuple):
    text: str
    idx: int  # character offset in the caption


def tokens_of(text: str) -> list[Token]:
    """The caption's tokens as (text, offset) pairs, read off the doc's arrays: spaCy's own
    ``Token`` objects cost more to make than the rest of the marker search together."""
    from spacy.attrs import IDX, LENGTH

    doc = tokenizer()(text)
    return [Token(text[start : start + length], start) for start, length in doc.to_array([IDX, LENGTH]).tolist()]


def find_markers(text: str) -> list[Marker]:
    tokens = tokens_of(text)
    markers: list[Marker] = []
    i = 0
    while i < len(tokens):
        found = _parenthesised(text, tokens, i) or _bare(text, tokens, i) or _weak(text, tokens, i)
        if found:
            marker, i = found
            markers.append(marker)
        else:
            i += 1
    return markers


# A label in parentheses, or in square brackets as some journals write it: "[A]", "[B-D]".
_BRACKETS = {"(": ")(", "[": "]["}


def _parenthesised(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    brackets = _BRACKETS.get(tokens[i].text)
    if brackets is None:
        return None
    # spaCy keeps "):" and ")." whole after a one-letter token: "(C): representative"
    close = next((j for j in range(i + 1, min(i + 13, len(tokens))) if tokens[j].text[:1] in brackets), None)
    if close is None or tokens[close].text[:1] != brackets[0] or close == i + 1:
        return None
    labels, position, described = _inner_labels(text[tokens[i + 1].idx : tokens[close].idx])
    if brackets[0] == "]" and labels and not all(label[0].isalpha() for label in labels):
        return None  # "[7]": a reference, not a panel
    if not labels and not position:
        return None
    previous = tokens[i - 1].text.lower() if i > 0 else ""
    if previous in CITING_WORDS or _FIGURE_NUMBER_END.search(text[: tokens[i].idx]):
        panel_word = tokens[i - 1].idx if i > 0 else 0
        if previous in ("panel", "panels") and labels and at_clause_start(text, panel_word):
            # "Panel (B) shows ...": the words stay in the text, as for "Panel B shows".
            return Marker(panel_word, panel_word, tuple(labels), False, False, weak=True), close + 1
        return None
    end = tokens[close].idx + 1
    related = previous in RELATION_WORDS
    marker = Marker(tokens[i].idx, end, tuple(labels or [position]), position is not None, _trailing(text, end), weak=described or related, related=related, described=described)
    return marker, close + 1


def _inner_labels(inner: str) -> tuple[list[str] | None, str | None, bool]:
    """(labels, position word, described) of a parenthesis: ``A-C``, ``Panel a``, ``image B``,
    ``left``, or labels beside a description, ``C, in red``, ``anti-CD34, E-H`` (described)."""
    labels = _named_labels(inner)
    if labels:
        return labels, None, False
    position = position_label(inner)
    if position:
        return None, position, False
    pieces = re.split(r"(?<=[,;:])", inner)
    cuts = [("".join(pieces[:cut]).rstrip(",;: "), "".join(pieces[cut:]).strip()) for cut in range(1, len(pieces))]
    for head, rest in reversed(cuts):  # the longest list of labels first: "A, C, E, patient 5"
        labels = _named_labels(head)
        if labels and rest and not _named_labels(rest):
            return labels, None, True
    for head, rest in cuts:  # the description first: "anti-CD34, E-H", "PSA; image C"
        labels = _named_labels(rest)
        if labels and head and not _named_labels(head):
            return labels, None, True
    return None, None, False


def _named_labels(words: str) -> list[str] | None:
    """``A and B``, also after ``panel`` or ``image``: ``Panels b-d``, ``image C``."""
    return parse_label_expression(re.sub(r"^(?:panels?|images?)\s+", "", words.strip(), flags=re.IGNORECASE))


def _bare(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    """``A)``, ``A.``, ``A:``, ``Top:``, ``Left panel:`` at the start of a sentence or clause."""
    if not at_clause_start(text, tokens[i].idx):
        return None
    token = tokens[i]
    match = _BARE_MARKER.match(token.text)
    if match:
        label, punct, last = match["label"], match["punct"], i
    elif i + 1 < len(tokens) and tokens[i + 1].text in (")", ".", ":") and (_BARE_MARKER.match(token.text + ")")):
        label, punct, last = token.text, tokens[i + 1].text, i + 1
    elif _dashed(text, tokens, i):  # "A - Axial CT", "B – Coronal CT", "C- Sagittal"
        last = i if token.text.endswith(tuple(_DASHES)) else i + 1
        return Marker(token.idx, tokens[last].idx + len(tokens[last].text), (token.text.rstrip(_DASHES),), False, False), last + 1
    else:
        listed = _LISTED_LABELS.match(text, token.idx)  # "B and D. A closer view"
        if listed and parse_label_expression(listed["labels"]):
            end = listed.end("labels") + 1
            following = next((j for j in range(i, len(tokens)) if tokens[j].idx >= end), len(tokens))
            return Marker(token.idx, end, tuple(parse_label_expression(listed["labels"])), False, False), following
        for width in (3, 2, 1):  # "A and C:", "Top left:", "Left:"
            if i + width < len(tokens) and tokens[i + width].text == ":":
                words = text[token.idx : tokens[i + width].idx]
                labels = parse_label_expression(words) if width > 1 else None
                position = None if labels else position_label(words)
                if labels or position:
                    end = tokens[i + width].idx + 1
                    return Marker(token.idx, end, tuple(labels or [position]), labels is None, False), i + width + 1
        return None
    following = tokens[last + 1] if last + 1 < len(tokens) else None
    # "superior view : D), inferior view : E.": a label after a colon closing its item names what came before it
    colon = _colon_before(text, token.idx)
    after = tokens[last + 2] if last + 2 < len(tokens) else None
    closes = colon is not None and (following is None or (following.text in (",", ";") and after is not None and after.text.islower()))
    if punct == "." and not closes and (following is None or not (following.text[:1].isupper() or following.text[:1] in "(\"'" or _NAMED_THING.match(text, following.idx))):
        if following is not None and (following.text[:1].islower() or following.text[:1].isdigit()) and (label.isdigit() or (len(label) == 1 and label.isalpha() and not _EPITHET.search(following.text))):
            # "A. composite of cranium; B. right maxilla ...", "B. 24 h later", "2. intraoperative view": a label only inside a run
            end = tokens[last].idx + len(tokens[last].text)
            return Marker(token.idx, end, (label,), False, False, weak=True), last + 1
        return None  # "A. thaliana", an initial inside a name, or the caption's last word
    if punct == "." and label.isalpha() and len(label) == 1 and label.isupper() and following is not None and following.text.endswith("."):
        return None  # initials: "J. R. Smith"
    end = tokens[last].idx + len(tokens[last].text)
    return Marker(colon if closes else token.idx, end, (label,), False, closes, after_colon=closes), last + 1


_LETTER = re.compile(r"[A-Za-z]")
_LETTER_STOP = re.compile(r"[A-Za-z]\.")
_LETTER_OR_NUMBER = re.compile(r"[A-Za-z]|\d{1,2}")
_NAME_BEFORE = re.compile(r"\b[A-Z]\.\s+[A-Z][a-z]+,\s*$")  # "Dr. R. Lebrun, S. Lignon": initials in a list of names


def _shape(label: str) -> str:
    """``A`` and ``b`` -> ``"a"``, ``12`` -> ``"9"``, ``A1`` -> ``"a9"``: labels of one list share a shape."""
    return re.sub(r"\d+", "9", re.sub(r"[A-Za-z]", "a", label))


_DASHES = "-–—"
_LETTER_DASH = re.compile(r"[A-Za-z][-–—]")
_LETTER_NUMBER = re.compile(r"[A-Za-z]\d?")


def _dashed(text: str, tokens, i: int) -> bool:
    """A label and a dash before its words: ``A - Axial``, ``B – Coronal``, ``C- Sagittal``; not
    ``X-ray`` (no space after the dash) nor a range ``A - C:``."""
    token = tokens[i]
    glued = _LETTER_DASH.fullmatch(token.text)
    if not glued and not (_LETTER.fullmatch(token.text) and i + 1 < len(tokens) and tokens[i + 1].text in _DASHES):
        return False
    dash = i if glued else i + 1
    after = tokens[dash].idx + len(tokens[dash].text)
    following = tokens[dash + 1] if dash + 1 < len(tokens) else None
    if text[after : after + 1] != " " or following is None or not following.text[:1].isalnum():
        return False
    closing = tokens[dash + 2].text if dash + 2 < len(tokens) else ""
    ranges = _LETTER_NUMBER.fullmatch(following.text) and closing[:1] in ":.,;)"  # "A - C: lesions"
    return not ranges and following.text.lower() not in _NOT_LABEL_WORDS


def _colon_before(text: str, index: int) -> int | None:
    """Offset of a colon right before ``index``: the marker then starts there, so that the text it
    closes reads without it."""
    before = text[:index].rstrip()
    return len(before) - 1 if before.endswith(":") else None


def _weak(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    """Marker forms that are labels only inside a run; see ``keep_weak_in_runs``."""
    token = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None:
        return None
    if token.text.lower() in ("panel", "panels") and at_clause_start(text, token.idx):
        for width in (4, 2):  # "Panels C and D show", "Panel A shows", "Panel B: ..."
            if i + width >= len(tokens):
                continue
            after = tokens[i + width]
            words = text[nxt.idx : tokens[i + width - 1].idx + len(tokens[i + width - 1].text)]
            labels = parse_label_expression(words)
            if labels and len({_shape(label) for label in labels}) > 1:
                continue  # "Panel A, P44 nuclear ...", "Panel B, 24 h later": a label and its first word
            if labels and words.endswith(".") and (after.text[:1].isalnum() or after.text[:1] in "(["):  # "Panel A. Axial CT"
                return Marker(token.idx, after.idx, tuple(labels), False, False), i + width
            if labels and after.text in (":", ",", ".") and i + width + 1 < len(tokens):
                # "Panel B: ...", "Panel A, HEK293 cells were ...", "Panels C and D. Western blots"
                return Marker(token.idx, after.idx + 1, tuple(labels), False, False), i + width + 1
            if labels and _WORD.match(after.text) and after.text.islower():
                return Marker(token.idx, token.idx, tuple(labels), False, False, weak=True), i + width
        return None
    if len(token.text) > 2:  # every form below is a label of one or two characters
        return None
    # "A. Normal prostate, B. Prostate cancer, C. ...": a label and full stop after a list comma
    stop_label = _LETTER_STOP.fullmatch(token.text) or (_LETTER.fullmatch(token.text) and nxt.text == ".")
    if stop_label and after_list_comma(text, token.idx) and not _NAME_BEFORE.search(text[max(0, token.idx - 40) : token.idx]):
        last = i if token.text.endswith(".") else i + 1
        following = tokens[last + 1] if last + 1 < len(tokens) else None
        names = following is not None and (following.text[:1].isupper() or _NAMED_THING.match(text, following.idx))
        if names or (following is not None and (following.text[:1].isdigit() or following.text[:1].islower() and not _EPITHET.search(following.text))):
            return Marker(token.idx, tokens[last].idx + len(tokens[last].text), (token.text[0],), False, False, weak=True), last + 1
    if not _LETTER_OR_NUMBER.fullmatch(token.text):
        return None
    # a clause start, or a list item: "A, anterior; B, posterior; and C, dorsal", "b side views, and d top views"
    clause = at_clause_start(text, token.idx) or after_list_comma(text, token.idx)
    if nxt.text == ")" and paren_depth(text, token.idx) <= 0 and text[token.idx - 1 : token.idx] in (" ", ""):
        end = nxt.idx + 1  # "... A) anterior, B) left lateral"
        return Marker(token.idx, end, (token.text,), False, False, weak=True), i + 2
    after = tokens[i + 2] if i + 2 < len(tokens) else None
    if token.text.isdigit() and nxt.text == "." and after is not None and after.text[:1].isupper() and not clause:
        # a numbered list run together: "1. Positioning of the loop 2. After placement ..."
        return Marker(token.idx, nxt.idx + 1, (token.text,), False, False, weak=True), i + 2
    if nxt.text == ":" and not at_clause_start(text, token.idx):  # "(neurons and microglia) B: Colon mucosa", "RV, B: Color Doppler"
        return Marker(token.idx, nxt.idx + 1, (token.text,), False, False, weak=True), i + 2
    # "Skull in A, dorsal; B, ventral; and C, lateral views": a list of views after "in"
    listed_after_relation = i > 0 and tokens[i - 1].text.lower() in RELATION_WORDS and i + 2 < len(tokens) and nxt.text == "," and tokens[i + 2].text.islower()
    if not clause and not listed_after_relation:
        return None
    for width in (3, 1):  # "A and B, Radial ...", "A–B, humerus", "a, cranial"
        if i + width < len(tokens) and tokens[i + width].text in (",", ";"):
            labels = parse_label_expression(text[token.idx : tokens[i + width].idx])
            if labels:
                colon = _colon_before(text, token.idx)  # "Frontal view : A, internal view : B", not "treatment: E and F, Contralateral"
                following = tokens[i + width + 1] if i + width + 1 < len(tokens) else None
                if following is not None and not following.text.islower():
                    colon = None
                start = token.idx if colon is None else colon
                closes = colon is not None
                return Marker(start, tokens[i + width].idx + 1, tuple(labels), False, closes, weak=True, after_colon=closes), i + width + 1
    if not clause:
        return None
    lone = nxt.text.lower() not in _NOT_LABEL_WORDS and not (i + 2 < len(tokens) and tokens[i + 2].text == ",")
    # "a Parasagittal CT", "a T2W MRI", "a *10 magnification"
    # ... and "b 2D representation", "B 24 h later" (not "a 2-cm nodule": the article)
    opens_text = nxt.text[:1].isalpha() or nxt.text[:1] in "*×" or (nxt.text[:1].isdigit() and token.text not in "aA")
    if lone and token.text.isalpha() and opens_text and nxt.idx == token.idx + 2:
        # "A protein expression of GPER-1 ... B disease-free survival": "a" before a lower-case word reads as the article unless "b" follows as a label
        article = token.text in "aA" and nxt.text.islower()
        return Marker(token.idx, token.idx + 1, (token.text,), False, False, weak=True, article=article), i + 1
    return None


def find_inline_run(text: str) -> list[Marker]:
    """For a caption with no other markers, or none but citations after it (``prefer_inline_run``):
    labels inside sentences, each before its own words, that run in order from the first (at
    least three), as taxonomic plates write them: letters
    (``female: A left caudal ramus, ventral view B copulatory pore ...``), letters after the figure
    number (``Holotype 7A Body, dorsal. Paratype 7B Head ...``), or numbers with ranges naming the
    numbers after them (``1–2 Salganea sp. n., male: 1 holotype 2 same, ventral view 3–4 ...``).
    Labels before the same word each time name things, not panels: ``hepatitis A virus, B virus``."""
    run: list[tuple[re.Match, tuple[str, ...]]] = []
    kind: tuple[str, str] | None = None  # (rank kind, figure number before each letter)
    last = 0  # the rank of the last single label in the run
    for match in _INLINE_LABEL.finditer(text):
        if match["word"].lower() in _NOT_LABELLED or paren_depth(text, match.start()) > 0:
            continue
        if match["numbers"]:
            labels, prefix = parse_label_expression(match["numbers"]) or [], ""
        else:
            labels, prefix = [match["letter"]], match["prefix"]
        ranks = [label_rank(label) for label in labels]
        if not ranks or None in ranks or ranks[0][1] != last + 1 or (run and (ranks[0][0], prefix) != kind):
            continue
        if not run and match["numbers"] and len(labels) == 1 and match.start() > 0:
            continue  # a number run opens the caption: elsewhere "1" is a count
        kind = (ranks[0][0], prefix)
        run.append((match, tuple(labels)))
        last += len(labels) == 1
    following = [match["word"].lower() for match, _ in run]
    # Letters before the same word name things (``hepatitis A virus, B virus``) inside a sentence;
    # a run opening its sentence is a plate however alike its items (``China. A Xus yus B Xus zus``).
    names_things = len(set(following)) == 1 and not (run and at_clause_start(text, run[0][0].start()))
    if len(run) < 3 or names_things:
        return []
    return [Marker(match.start(), match.end("label"), labels, False, False) for match, labels in run]


# A label before its own words, outside parentheses: "A left caudal ramus", "7A Body", "3–4 Salganea".
_INLINE_LABEL = re.compile(
    r"(?<!\S)(?P<label>(?P<prefix>\d{0,3})(?P<letter>[A-Za-z])|(?P<numbers>\d{1,2}(?:[–-]\d{1,2})?)) (?=(?P<word>[A-Za-z][\w\-]*))"
)
# ... and units, after which a number is a count: the words that end an inline plate's run ("5 mm").
_NOT_LABELLED = {
    *_NOT_LABEL_WORDS, "mm", "cm", "m", "nm", "µm", "μm", "um", "kb", "bp", "kda", "h", "hr", "hrs", "min", "s", "days",
    "weeks", "months", "years", "x",
}  # fmt: skip


def prefer_inline_run(text: str, markers: list[Marker]) -> list[Marker]:
    """A plate's inline labels, where the only other markers come after the run and name its
    panels again (``A aedeagus B paramere C sternite. Scale bars: 0.5 mm (A, B), 0.2 mm (C)``):
    those cite the panels in a closing note, and read as labels they would make the caption one
    written label-after-text. Otherwise ``markers``, or the run where there are none."""
    inline = find_inline_run(text)
    if not inline:
        return markers
    run = {label.lower() for marker in inline for label in marker.labels}
    cites_run = all({label.lower() for label in m.labels} <= run and m.start > inline[-1].start for m in markers)
    return inline if cites_run else markers


_PARENTHESIS = re.compile(r"[()]")


def paren_depth(text: str, index: int) -> int:
    """How many parentheses are open at ``index``. A closing one with none open (the ``)`` of a
    label ``A)``) closes nothing, so ``A) ... (bar B)`` has ``B`` inside parentheses."""
    depth = 0
    for match in _PARENTHESIS.finditer(text, 0, index):
        depth = depth + 1 if match[0] == "(" else max(0, depth - 1)
    return depth


def _trailing(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    return not rest or rest[0] in ".,;"


def label_rank(label: str) -> tuple[str, int] | None:
    if label.isdigit():
        return ("digit", int(label))
    if len(label) == 1 and label.isalpha():
        return ("lower" if label.islower() else "upper", ord(label.lower()) - ord("a") + 1)
    return None
