"""Compound captions -> per-label subcaptions, from the label markers ``markers.py`` finds.

Captions whose markers mostly close a clause (``... in controls (A), and in mutants (B).``) are
read label-after-text, others label-before-text. The opening text before the first marker and
shared closing sentences (see ``_take_closing``) are copied into every subcaption, and labels
inside a sentence share its opening words (``Cells grown on (A) agar and (B) soil``: ``Cells grown
on``); the marker itself is removed unless ``subcaption(..., keep_label=True)`` asks for it as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stages.subcaptions.markers import (
    Marker,
    drop_other_case,
    drop_outliers,
    drop_positions_among_letters,
    find_inline_run,
    find_markers,
    keep_weak_in_runs,
)
from stages.subcaptions.text import (
    at_clause_start,
    clean,
    join,
    sentence_end,
    sentence_start,
    split_sentences,
)

# Closing notes on the whole figure rather than on its last panel.
CLOSERS = re.compile(
    r"^(scale bars?|bars?[,:=]|data (are|represent|show)|error bars|values (are|represent)|results are|"
    r"original magnification|magnifications?\b|mean ?±|means? ?±|\*|n ?=|statistical|p ?[<=]|ns\b|"
    r"all (data|images|panels|experiments)|experiments were|representative of)",
    re.IGNORECASE,
)
# A piece ending in one of these words goes on in the next piece.
_CONTINUES = re.compile(r"\b(of|for|in|on|with|and|or|the|a|an|to|by|from|at|as|against|between)$")
# "tumorigenesis(a) H&E", "cancer.(a) negative", "images.(A,B) H&E": a label glued to the previous word.
_GLUED_LABEL = re.compile(r"(?<=[A-Za-z.,;])\((?=[A-Za-z]\d?(?:\s*[-–,&]\s*[A-Za-z]\d?)*\)|[ivx]{1,4}\))")
# "prostate tissuesA) Evaluation": a title run into the first label.
_GLUED_TITLE_LABEL = re.compile(r"(?<=[a-z]{3})(?=[A-Z]\)\s)")
# "tissues.A Representative", "spots.A) lung", "mice.a) H&E": a sentence glued to the next label.
_GLUED_SENTENCE = re.compile(r"(?<=[a-z0-9)\]])\.(?=[A-Z](?:[\s):,]|\.\s)|[a-z]\)\s)")


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
            return join(self.head, marker, self.text)
        return join(self.head, self.text, marker)


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
        return join_sentences(self.preamble, *dict.fromkeys(texts), self.closing)


def join_sentences(*parts: str) -> str:
    """Pieces joined as sentences: a piece that ends mid-sentence before one that opens a new
    sentence (a capital) gets a full stop, so ``Lung`` + ``Expression is ...`` reads ``Lung. Expression is ...``."""
    pieces = [p.strip() for p in parts if p and p.strip()]
    out = []
    for piece, following in zip(pieces, pieces[1:] + [""]):
        ends_open = (piece[-1].isalnum() or piece[-1] in ")]%") and not _CONTINUES.search(piece)
        out.append(piece + "." if ends_open and following[:1].isupper() else piece)
    return " ".join(out)


def split_caption(caption: str) -> CaptionSplit:
    text = re.sub(r"\s+", " ", caption or "").strip()
    text = _GLUED_LABEL.sub(" (", text)
    text = _GLUED_SENTENCE.sub(". ", text)
    text = _GLUED_TITLE_LABEL.sub(" ", text)
    markers = drop_outliers(drop_other_case(drop_positions_among_letters(keep_weak_in_runs(find_markers(text)))))
    markers = markers or find_inline_run(text)
    if not markers:
        return CaptionSplit(text, text, (), "", "none")
    if _labels_after_text(text, markers):
        return _postfix(text, markers)
    return _prefix(text, markers)


def _labels_after_text(text: str, markers: list[Marker]) -> bool:
    """Most markers close their clause; half do and none opens a sentence (``tumour (a) and the
    specimen (b).``)."""
    trailing = sum(m.trailing for m in markers)
    return trailing * 2 > len(markers) or (trailing * 2 == len(markers) and not any(at_clause_start(text, m.start) for m in markers))


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
        segments.append([marker, _clean_end(clean(text[marker.end : end]))])
    segments[-1][1], closing = _take_closing(segments[-1][1], [t for _, t in segments[:-1]])
    preamble = clean(text[: cuts[0]]) if cuts[0] else ""
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
            heads.append(_clean_end(clean(text[start : marker.start])))
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
        if not marker.trailing and at_clause_start(text, marker.start):
            end = sentence_end(text, marker.end)
            if k + 1 < len(markers):
                end = min(end, markers[k + 1].start)
            piece, used = clean(text[marker.end : end]), end
            segments.append(Segment(marker.labels, piece, marker.position, text[marker.start : marker.end]))
            continue
        start = max(sentence_start(text, marker.start), used)
        piece = re.sub(r"^(and|while|whereas|or)\s+", "", clean(text[start : marker.start]))
        used = marker.end
        segments.append(Segment(marker.labels, piece, marker.position, text[marker.start : marker.end], marker_first=False))
    return CaptionSplit(text, clean(text[:first_start]), tuple(segments), clean(text[used:]), "postfix")
