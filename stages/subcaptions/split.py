"""Compound captions -> per-label subcaptions, on spaCy tokens (``spacy.blank("en")``: rules only, no model).

A label marker is a parenthesised label expression (``(A)``, ``(a-c)``, ``(C and D)``, ``(ii)``,
``(left)``, ``(Panel a)``) or, at the start of a sentence or clause, a label followed by ``)``, ``.``
or ``:`` (``A)``, ``B.``, ``Top:``, ``Panel B:``). A marker right after a figure reference or a word
such as ``see``, ``as`` or ``panel`` cites a panel and is not a split point. Weaker forms count only
when they continue a run of labels (``a``, then ``b`` ...): a marker after ``in``, ``of``, ``with``
... (``staining of (A) liver; (B) kidney``) unless another marker names the same panel (``as in
(A)``), a label with a description (``(C, arrows)``), a label and a comma at a clause start (``A,
anterior; B, posterior``), a lone label before a word (``a Parasagittal CT ... b Coronal CT``, ``a
Gleason grade 2, b Gleason grade 3``), ``B)`` or ``B:`` inside a sentence, and ``Panel A shows
...`` (kept in the text). Captions whose markers mostly close a clause (``... in controls (A), and
in mutants (B).``) are read label-after-text. The opening text before the first marker and shared
closing sentences (see ``_take_closing``) are copied into every subcaption, and labels inside a
sentence share its opening words (``Cells grown on (A) agar and (B) soil``: ``Cells grown on``);
the marker itself is removed unless ``subcaption(..., keep_label=True)`` asks for it as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stages.subcaptions.labels import parse_label_expression, position_label

# A marker right after one of these cites a panel: "see (B)", "Fig. 2 (C)", "as (A)".
CITING_WORDS = {
    "fig", "fig.", "figs", "figs.", "figure", "figures", "panel", "panels", "see", "as", "than", "vs", "vs.",
    "versus", "like", "cf", "cf.", "compare", "also", "same",
}  # fmt: skip
# After these it may cite ("as in (A)") or introduce ("staining of (A) liver; (B) lung"): a label
# only inside a run, and only when no other marker names the same panel.
RELATION_WORDS = {"in", "of", "from", "to", "with", "at", "by", "on", "for"}
ABBREVIATIONS = ("fig.", "figs.", "al.", "e.g.", "i.e.", "vs.", "no.", "ca.", "approx.", "resp.", "sp.", "spp.")
CLOSERS = re.compile(
    r"^(scale bars?|bars?[,:=]|data (are|represent|show)|error bars|values (are|represent)|results are|"
    r"original magnification|magnifications?\b|mean ?±|means? ?±|\*|n ?=|statistical|p ?[<=]|ns\b|"
    r"all (data|images|panels|experiments)|experiments were|representative of)",
    re.IGNORECASE,
)
_GLUED_LABEL = re.compile(r"(?<=[A-Za-z.,;])\((?=[A-Za-z]\d?(?:\s*[-–,&]\s*[A-Za-z]\d?)*\)|[ivx]{1,4}\))")
# "prostate tissuesA) Evaluation": a title run into the first label.
_GLUED_TITLE_LABEL = re.compile(r"(?<=[a-z]{3})(?=[A-Z]\)\s)")
_BARE_MARKER = re.compile(r"^(?P<label>[A-Za-z]\d{0,2}|\d{1,2}|[ivxIVX]{1,4})(?P<punct>[.:)])$")
# "tissues.A Representative", "spots.A) lung", "mice.a) H&E": a sentence glued to the next label.
_GLUED_SENTENCE = re.compile(r"(?<=[a-z0-9)\]])\.(?=[A-Z](?:[\s):,]|\.\s)|[a-z]\)\s)")
_FIGURE_NUMBER_END = re.compile(r"\b(?:fig|figs|figure|figures)\.?\s*\d+[a-z]?\s*$", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z][A-Za-z\-]*$")


@dataclass(frozen=True)
class Marker:
    start: int  # character offsets of the marker in the caption
    end: int
    labels: tuple[str, ...]
    position: bool  # a position word (left, top, ...) rather than a letter or number
    trailing: bool  # followed by punctuation or the end: the label closes its text
    weak: bool = False  # a form that is a label only when it continues a run of labels
    related: bool = False  # after "in", "of", "with" ...: a citation when another marker names its panel


@dataclass(frozen=True)
class Segment:
    labels: tuple[str, ...]
    text: str
    position: bool
    marker: str = ""  # the marker as written in the caption ("(A)", "B.", "(C and D)"); empty for "Panel A shows"
    marker_first: bool = True  # the marker comes before its text (prefix style) rather than after it
    head: str = ""  # the opening of a sentence whose labels come inside it: "Staining of" (A) liver; (B) lung.

    def written(self, keep_label: bool) -> str:
        marker = self.marker if keep_label else ""
        if self.marker_first:
            return _join(self.head, marker, self.text)
        return _join(self.head, self.text, marker)


@dataclass(frozen=True)
class CaptionSplit:
    caption: str
    preamble: str
    segments: tuple[Segment, ...]
    closing: str
    style: str  # "prefix" (label before its text), "postfix" (after), or "none"

    def labels(self) -> list[str]:
        seen: dict[str, str] = {}
        for segment in self.segments:
            for label in segment.labels:
                seen.setdefault(label.lower(), label)
        return list(seen.values())

    def subcaption(self, label: str, keep_label: bool = False) -> str | None:
        """The label's own text between the shared opening and closing text; ``keep_label`` keeps
        its marker as written (``(A) Control cells.``), the convention of some annotated sets."""
        own = [s for s in self.segments if label.lower() in (x.lower() for x in s.labels)]
        if not own:
            return None
        texts = [s.written(keep_label) for s in own if s.text or s.head]
        return _join(self.preamble, *dict.fromkeys(texts), self.closing)


@lru_cache(maxsize=1)
def tokenizer():
    import spacy

    return spacy.blank("en")


def split_caption(caption: str) -> CaptionSplit:
    text = re.sub(r"\s+", " ", caption or "").strip()
    # "tumorigenesis(a) H&E" / "cancer.(a) negative": a label glued to the previous word.
    text = _GLUED_LABEL.sub(" (", text)
    text = _GLUED_SENTENCE.sub(". ", text)
    text = _GLUED_TITLE_LABEL.sub(" ", text)
    markers = drop_outliers(drop_other_case(drop_positions_among_letters(keep_weak_in_runs(find_markers(text)))))
    if not markers:
        return CaptionSplit(text, text, (), "", "none")
    if _labels_after_text(text, markers):
        return _postfix(text, markers)
    return _prefix(text, markers)


def _labels_after_text(text: str, markers: list[Marker]) -> bool:
    """Most markers close their clause; half do and none opens a sentence (``tumour (a) and the
    specimen (b).``)."""
    trailing = sum(m.trailing for m in markers)
    return trailing * 2 > len(markers) or (trailing * 2 == len(markers) and not any(_at_clause_start(text, m.start) for m in markers))


def find_markers(text: str) -> list[Marker]:
    doc = tokenizer()(text)
    tokens = list(doc)
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


def _parenthesised(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    if tokens[i].text != "(":
        return None
    close = next((j for j in range(i + 1, min(i + 13, len(tokens))) if tokens[j].text in (")", "(")), None)
    if close is None or tokens[close].text != ")" or close == i + 1:
        return None
    labels, position, described = _inner_labels(text[tokens[i + 1].idx : tokens[close].idx])
    if not labels and not position:
        return None
    previous = tokens[i - 1].text.lower() if i > 0 else ""
    if previous in CITING_WORDS or _FIGURE_NUMBER_END.search(text[: tokens[i].idx]):
        panel_word = tokens[i - 1].idx if i > 0 else 0
        if previous in ("panel", "panels") and labels and _at_clause_start(text, panel_word):
            # "Panel (B) shows ...": the words stay in the text, as for "Panel B shows".
            return Marker(panel_word, panel_word, tuple(labels), False, False, weak=True), close + 1
        return None
    end = tokens[close].idx + 1
    related = previous in RELATION_WORDS
    marker = Marker(tokens[i].idx, end, tuple(labels or [position]), position is not None, _trailing(text, end), weak=described or related, related=related)
    return marker, close + 1


def _inner_labels(inner: str) -> tuple[list[str] | None, str | None, bool]:
    """(labels, position word, described) of a parenthesis: ``A-C``, ``Panel a``, ``left``, or labels
    followed by a description, ``C, in red`` and ``D, upper graph`` (described)."""
    inner = re.sub(r"^panels?\s+", "", inner.strip(), flags=re.IGNORECASE)
    labels = parse_label_expression(inner)
    if labels:
        return labels, None, False
    position = position_label(inner)
    if position:
        return None, position, False
    pieces = re.split(r"(?<=[,;:])", inner)
    for cut in range(len(pieces) - 1, 0, -1):
        head, rest = "".join(pieces[:cut]).rstrip(",;: "), "".join(pieces[cut:]).strip()
        labels = parse_label_expression(head)
        if labels and rest and not parse_label_expression(rest):
            return labels, None, True
    for cut in range(1, len(pieces)):  # "(anti-CD34, E-H)": the description first
        head, rest = "".join(pieces[:cut]).rstrip(",;: "), "".join(pieces[cut:]).strip()
        labels = parse_label_expression(rest)
        if labels and head and not parse_label_expression(head):
            return labels, None, True
    return None, None, False


def _bare(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    """``A)``, ``A.``, ``A:``, ``Top:``, ``Left panel:`` at the start of a sentence or clause."""
    if not _at_clause_start(text, tokens[i].idx):
        return None
    token = tokens[i]
    match = _BARE_MARKER.match(token.text)
    if match:
        label, punct, last = match["label"], match["punct"], i
    elif i + 1 < len(tokens) and tokens[i + 1].text in (")", ".", ":") and (_BARE_MARKER.match(token.text + ")")):
        label, punct, last = token.text, tokens[i + 1].text, i + 1
    else:
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
    if punct == "." and (following is None or not (following.text[:1].isupper() or following.text[:1] in "(\"'")):
        return None  # "A. thaliana", an initial inside a name, or the caption's last word
    if punct == "." and label.isalpha() and len(label) == 1 and label.isupper() and following is not None and following.text.endswith("."):
        return None  # initials: "J. R. Smith"
    end = tokens[last].idx + len(tokens[last].text)
    return Marker(token.idx, end, (label,), False, False), last + 1


def _weak(text: str, tokens, i: int) -> tuple[Marker, int] | None:
    """Marker forms that are labels only inside a run; see ``keep_weak_in_runs``."""
    token = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None:
        return None
    # a clause start, or a list item: "A, anterior; B, posterior; and C, dorsal", "b side views, and d top views"
    clause = _at_clause_start(text, token.idx) or bool(re.search(r"(?:,|[,;]\s+(?:and|or))\s*$", text[: token.idx]))
    if token.text.lower() in ("panel", "panels") and _at_clause_start(text, token.idx):
        for width in (4, 2):  # "Panels C and D show", "Panel A shows", "Panel B: ..."
            if i + width >= len(tokens):
                continue
            after = tokens[i + width]
            labels = parse_label_expression(text[nxt.idx : tokens[i + width - 1].idx + len(tokens[i + width - 1].text)])
            if labels and after.text == ":":
                return Marker(token.idx, after.idx + 1, tuple(labels), False, False), i + width + 1
            if labels and _WORD.match(after.text) and after.text.islower():
                return Marker(token.idx, token.idx, tuple(labels), False, False, weak=True), i + width
        return None
    if not re.fullmatch(r"[A-Za-z]|\d{1,2}", token.text):
        return None
    if nxt.text == ")" and _paren_depth(text, token.idx) <= 0 and text[token.idx - 1 : token.idx] in (" ", ""):
        end = nxt.idx + 1  # "... A) anterior, B) left lateral"
        return Marker(token.idx, end, (token.text,), False, False, weak=True), i + 2
    if nxt.text == ":" and not clause:  # "(neurons and microglia) B: Colon mucosa"
        return Marker(token.idx, nxt.idx + 1, (token.text,), False, False, weak=True), i + 2
    if not clause:
        return None
    for width in (3, 1):  # "A and B, Radial ...", "A–B, humerus", "a, cranial"
        if i + width < len(tokens) and tokens[i + width].text == ",":
            labels = parse_label_expression(text[token.idx : tokens[i + width].idx])
            if labels:
                return Marker(token.idx, tokens[i + width].idx + 1, tuple(labels), False, False, weak=True), i + width + 1
    lone = nxt.text.lower() not in ("and", "or", "to", "is", "was") and not (i + 2 < len(tokens) and tokens[i + 2].text == ",")
    lone = lone and not (token.text in "aA" and nxt.text.islower())  # the article: "HID28, a microscopic pattern"
    # "a Parasagittal CT", "a T2W MRI", "a *10 magnification"
    if lone and token.text.isalpha() and (nxt.text[:1].isalpha() or nxt.text[:1] in "*×") and nxt.idx == token.idx + 2:
        return Marker(token.idx, token.idx + 1, (token.text,), False, False, weak=True), i + 1
    return None


def _paren_depth(text: str, index: int) -> int:
    before = text[:index]
    return before.count("(") - before.count(")")


def _rank(label: str) -> tuple[str, int] | None:
    if label.isdigit():
        return ("digit", int(label))
    if len(label) == 1 and label.isalpha():
        return ("lower" if label.islower() else "upper", ord(label.lower()) - ord("a") + 1)
    return None


def keep_weak_in_runs(markers: list[Marker]) -> list[Marker]:
    """Keep a weak marker only where it continues a run (``_continues_run``) and the run reaches
    at least two labels."""
    markers = [m for m in markers if not (m.related and _named_elsewhere(m, markers))]
    ranks = [[_rank(l) for l in m.labels] for m in markers]
    seen: set[tuple[str, int]] = set()
    kept: list[Marker] = []
    for marker, marker_ranks in zip(markers, ranks):
        if not marker.weak:
            kept.append(marker)
            seen.update(r for r in marker_ranks if r)
            continue
        if not _continues_run(marker_ranks[0], seen):
            continue
        kept.append(marker)
        seen.update(r for r in marker_ranks if r)
    # A run that never gets past its first label ("A, B and C show ...", "A Western blot") is no run.
    result = []
    for marker in kept:
        if marker.weak and len(kept) < 2:
            continue
        result.append(marker)
    return result


def _continues_run(rank: tuple[str, int] | None, seen: set[tuple[str, int]]) -> bool:
    """The first label (``a``, ``1``), or one or two past a label seen before: a panel named only in
    passing (``B, quantified in C. D, ...``) leaves a gap of one."""
    if rank is None:
        return False
    kind, value = rank
    kinds = (kind,) if kind == "digit" else ("upper", "lower")
    return value == 1 or any((k, value - step) in seen for k in kinds for step in (1, 2))


def _named_elsewhere(marker: Marker, markers: list[Marker]) -> bool:
    """``(A) ... the same cells as in (A)``: another marker already names the panel this one cites."""
    own = {l.lower() for l in marker.labels}
    return any(own & {l.lower() for l in other.labels} for other in markers if other is not marker)


def drop_positions_among_letters(markers: list[Marker]) -> list[Marker]:
    """``(A) ... (left panel) ... (right panel)``: with two or more lettered or numbered markers,
    position words describe parts of a panel, not panels."""
    if sum(not m.position for m in markers) < 2:
        return markers
    return [m for m in markers if not m.position]


def drop_other_case(markers: list[Marker]) -> list[Marker]:
    """Drop single-letter markers in the minority case when one case clearly leads: ``(H)`` among
    ``(a)-(e)``. Roman ``i``/``v``/``x`` stay where the caption also has ``ii``, ``iv`` ..."""
    roman = any(len(l) > 1 and set(l.lower()) <= set("ivx") for m in markers for l in m.labels)

    def case(marker: Marker) -> str | None:
        single = [l for l in marker.labels if len(l) == 1 and l.isalpha() and not (roman and l.lower() in "ivx")]
        if not single or marker.position:
            return None
        return "lower" if all(l.islower() for l in single) else "upper" if all(l.isupper() for l in single) else None

    counts = {"lower": 0, "upper": 0}
    for marker in markers:
        if case(marker):
            counts[case(marker)] += 1
    leading = max(counts, key=counts.get)
    minority = "upper" if leading == "lower" else "lower"
    if counts[leading] < 2 * max(counts[minority], 1):
        return markers
    return [m for m in markers if case(m) != minority]


def drop_outliers(markers: list[Marker]) -> list[Marker]:
    """Drop single-letter markers far outside the caption's run of letters: ``(N)`` for "normal" among A-D."""
    letters = sorted({ord(l.lower()) for m in markers if not m.position for l in m.labels if len(l) == 1 and l.isalpha()})
    if len(letters) < 2:
        return markers
    run_end = letters[0]
    for value in letters[1:]:
        if value - run_end > 2:
            break
        run_end = value
    def inside(marker: Marker) -> bool:
        single = [l for l in marker.labels if len(l) == 1 and l.isalpha()]
        return marker.position or not single or any(ord(l.lower()) <= run_end for l in single)
    return [m for m in markers if inside(m)]


def _trailing(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    return not rest or rest[0] in ".,;"


def _at_clause_start(text: str, index: int) -> bool:
    before = text[:index].rstrip()
    if not before:
        return True
    if before[-1] in ";:":
        return True
    return before[-1] in ".!?" and not _ends_with_abbreviation(before)


def _ends_with_abbreviation(text: str) -> bool:
    """``... et al.``, ``(Fig.``; a whole word, so ``survival.`` is no ``al.``."""
    words = text.split()
    return bool(words) and words[-1].lstrip("([").lower() in ABBREVIATIONS


def sentence_start(text: str, index: int) -> int:
    """Offset of the start of the sentence holding ``index``."""
    for match in reversed(list(re.finditer(r"[.!?]\s+", text[:index]))):
        if not _ends_with_abbreviation(text[: match.start() + 1]):
            return match.end()
    return 0


def split_sentences(text: str) -> list[str]:
    starts = [0] + [m.end() for m in re.finditer(r"[.!?]\s+(?=[A-Z(*\[])", text) if not _ends_with_abbreviation(text[: m.start() + 1])]
    return [text[a:b].strip() for a, b in zip(starts, starts[1:] + [len(text)]) if text[a:b].strip()]


def _clean(piece: str) -> str:
    return re.sub(r"^[\s,;:.\-–]+|[\s,;]+$", "", piece)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _take_closing(last_text: str, earlier: list[str]) -> tuple[str, str]:
    """Split the shared closing sentences off the last segment's text. Where every earlier panel
    is told in one sentence, the last panel's further sentences are notes on the whole figure
    (statistics, abbreviations, provenance) and all are shared; where earlier panels run to more
    sentences, only closing notes (scale bars, statistics: ``CLOSERS``) are, and only when no
    earlier panel carries such a note of its own."""
    sentences = split_sentences(last_text)
    earlier_sentences = [split_sentences(text) for text in earlier]
    if all(len(s) <= 1 for s in earlier_sentences):
        return " ".join(sentences[:1]), " ".join(sentences[1:])
    if any(CLOSERS.match(sentence) for s in earlier_sentences for sentence in s[1:]):
        return last_text, ""
    cut = len(sentences)
    while cut > 1 and CLOSERS.match(sentences[cut - 1]):
        cut -= 1
    return " ".join(sentences[:cut]), " ".join(sentences[cut:])


def _prefix(text: str, markers: list[Marker]) -> CaptionSplit:
    heads, cuts = _sentence_heads(text, markers)
    segments = []
    for k, marker in enumerate(markers):
        end = cuts[k + 1] if k + 1 < len(markers) else len(text)
        segments.append([marker, _clean_end(_clean(text[marker.end : end]))])
    segments[-1][1], closing = _take_closing(segments[-1][1], [t for _, t in segments[:-1]])
    preamble = _clean(text[: cuts[0]]) if cuts[0] else ""
    built = tuple(Segment(m.labels, t, m.position, text[m.start : m.end], head=h) for (m, t), h in zip(segments, heads))
    return CaptionSplit(text, preamble, built, closing, "prefix")


def _sentence_heads(text: str, markers: list[Marker]) -> tuple[list[str], list[int]]:
    """Per marker, the opening words of its sentence when its labels come inside the sentence
    (``Staining of (A) liver; (B) lung.``: both get ``Staining of``), and where the text before the
    marker's segment ends. A caption's first sentence keeps its opening in the shared preamble."""
    heads, cuts = [], []
    for k, marker in enumerate(markers):
        start = sentence_start(text, marker.start)
        previous_end = markers[k - 1].end if k else 0
        if _inside_sentence(text, marker) and start < marker.start and start >= previous_end and start > 0:
            heads.append(_clean_end(_clean(text[start : marker.start])))
            cuts.append(start)
        elif k and start < previous_end and heads[k - 1]:
            heads.append(heads[k - 1])  # another label of the same sentence
            cuts.append(marker.start)
        else:
            heads.append("")
            cuts.append(marker.start)
    return heads, cuts


def _inside_sentence(text: str, marker: Marker) -> bool:
    """A marker that continues its sentence: after a lowercase word (``for (A) liver``), followed by
    its own words, not by a conjunction (``in size (B) and weight``: label after text) and not by a
    capitalised word (``20 microns (c) Hematoxylin``: a new sentence that lost its full stop)."""
    before = re.search(r"([A-Za-z]+),?\s*$", text[: marker.start])
    after = re.match(r"\s*([^\s]+)", text[marker.end :])
    if marker.trailing or not before or not before.group(1).islower() or not after:
        return False
    word = after.group(1)
    return word.lower() not in ("and", "or", "while", "whereas") and not re.fullmatch(r"[A-Z][a-z]+[,.;:]?", word)


def _clean_end(piece: str) -> str:
    """Drop a dangling conjunction: ``mefloquine, and`` (C) ... -> ``mefloquine``."""
    return re.sub(r"(?:[\s,;]+(?:and|or|either|while|whereas))+$", "", piece)


def _postfix(text: str, markers: list[Marker]) -> CaptionSplit:
    """Each label takes the words before it back to the previous label or its sentence start. A
    label opening a sentence in such a caption (``(a) An overview. Cells chosen ... (b).``) takes
    the rest of that sentence instead. What follows the last label is shared."""
    segments = []
    first_start = sentence_start(text, markers[0].start)
    used = 0  # the caption up to here belongs to earlier labels
    for k, marker in enumerate(markers):
        if not marker.trailing and _at_clause_start(text, marker.start):
            end = _sentence_end(text, marker.end)
            if k + 1 < len(markers):
                end = min(end, markers[k + 1].start)
            piece, used = _clean(text[marker.end : end]), end
            segments.append(Segment(marker.labels, piece, marker.position, text[marker.start : marker.end]))
            continue
        start = max(sentence_start(text, marker.start), used)
        piece = re.sub(r"^(and|while|whereas|or)\s+", "", _clean(text[start : marker.start]))
        used = marker.end
        segments.append(Segment(marker.labels, piece, marker.position, text[marker.start : marker.end], marker_first=False))
    return CaptionSplit(text, _clean(text[:first_start]), tuple(segments), _clean(text[used:]), "postfix")


def _sentence_end(text: str, index: int) -> int:
    """Offset just past the sentence that holds ``index`` (the start of the next one)."""
    for match in re.finditer(r"[.!?](\s+|$)", text[index:]):
        if not _ends_with_abbreviation(text[: index + match.start() + 1]):
            return index + match.end()
    return len(text)
