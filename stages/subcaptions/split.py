"""Compound captions -> per-label subcaptions, from the label markers ``markers.py`` finds.

Captions whose markers mostly close a clause (``... in controls (A), and in mutants (B).``) are
read label-after-text, others label-before-text. The opening text before the first marker and
shared closing sentences (see ``_take_closing``) are copied into every subcaption, and labels
inside a sentence share its opening words (``Cells grown on (A) agar and (B) soil``: ``Cells grown
on``); the marker itself is removed unless ``subcaption(..., keep_label=True)`` asks for it as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from stages.subcaptions.cited import cited_panels
from stages.subcaptions.labels import LABEL_JOINER
from stages.subcaptions.marker_filters import (
    drop_articles,
    drop_numbers_among_letters,
    drop_other_case,
    drop_outliers,
    drop_parts_of_named_panels,
    drop_positions_among_letters,
    keep_colon_lists,
    keep_weak_in_runs,
    merge_adjacent,
)
from stages.subcaptions.markers import CITING_WORDS, RELATION_WORDS, Marker, find_markers, paren_depth, prefer_inline_run
from stages.subcaptions.text import (
    after_list_comma,
    at_clause_start,
    clean,
    join,
    join_sentences,
    sentence_end,
    sentence_start,
    split_sentences,
)

# Closing notes on the whole figure rather than on its last panel.
CLOSERS = re.compile(
    r"^[\[(]?(scale (bars?|lines?)|bars?[,:=]|data (are|represent|show)|error bars|values (are|represent)|results are|"
    r"original magnification|magnifications?\b|mean ?±|means? ?±|\*|n ?=|statistical|p ?[<=]|ns\b|"
    r"all (data|images|panels|experiments)|experiments were|representative of)",
    re.IGNORECASE,
)
# "tumorigenesis(a) H&E", "cancer.(a) negative", "images.(A,B) H&E", "cancer.(panel a)", "cells.[B]": a label glued to the previous word.
_GLUED_LABEL = re.compile(rf"(?<=[A-Za-z.,;])(?=[(\[](?:(?:[Pp]anels?\s)?[A-Za-z]\d?(?:{LABEL_JOINER}[A-Za-z]\d?)*|[ivx]{{1,4}})[)\]])")
# "(A)Axial CT", "(J)Sd-133 competed", "(B)(×320)": a label run into its first word or note (a bold
# label taken out of the XML with no space after it).
_GLUED_NEXT = re.compile(r"(?<![\w(])(\([A-Za-z]\d?\))(?=[A-Za-z0-9(])")
# "prostate tissuesA) Evaluation": a title run into the first label.
_GLUED_TITLE_LABEL = re.compile(r"(?<=[a-z]{3})(?=[A-Z]\)\s)")
# "tissues.A Representative", "spots.A) lung", "mice.a) H&E", "of AKT.A. AR", "AKT.Panel A.", "gland.a. P44": a
# sentence glued to the next label (a lower-case one only after a word of two or more letters, so
# "e.g. The" stays whole).
_GLUED_SENTENCE = re.compile(
    r"(?:(?<=[a-z0-9)\]])|(?<=[A-Z]{3}))\.(?=[A-Z](?:[\s):,]|[.\-–—]\s)|[a-z]\)\s|Panels?\s)"
    r"|(?:(?<=[a-z0-9]{2})|(?<=[)\]])|(?<=[A-Z]{3}))\.(?=[a-z][.:,]?\s+[A-Z0-9])"
)
# "shows A). Large splenic metastasis, B). Metastasis ...": a full stop after a label's bracket.
_STOP_AFTER_LABEL = re.compile(r"(?<![\w(])([A-Za-z]\d?\))\.(?=\s)")
# "In (A) and (B), blue histograms ...", "In panels C and D, ...": a sentence about the panels it opens with.
_NAMES_PANELS = re.compile(r"In (?:panels? )?(?P<labels>\(?[A-Za-z]\)?(?:\s*(?:,|and|&)\s*\(?[A-Za-z]\)?)*),\s")
# A publisher's note on the print edition, about no panel: "[Color figure can be viewed in the online
# issue, which is available at wileyonlinelibrary.com.]", "(Colour online)".
_PUBLISHER_NOTE = re.compile(r"\s*[\[(]colou?r (?:figure can be viewed|online)\b[^\])]*[\])]\.?", re.IGNORECASE)
# "IRE1 structures A. hIRE1 crystallizes ... B. ADP-hIRE1": a title run into its first label, read
# as such only where the next label opens a sentence ("vitamin A. B. Cells" is no label).
_TITLE_BEFORE_FIRST_LABEL = re.compile(
    r"\b(?P<word>\w*[a-z0-9]) (?=(?P<label>[Aa](?:\s*(?:,|and|&)\s*[A-Za-z])*)(?P<punct>[.):]) (?![Bb][.):]))"
)


@dataclass(frozen=True)
class Segment:
    labels: tuple[str, ...]
    text: str
    position: bool
    marker: str = ""  # the marker as written in the caption ("(A)", "B.", "(C and D)"); empty for "Panel A shows"
    marker_first: bool = True  # the marker comes before its text (prefix style) rather than after it
    head: str = ""  # the opening of a sentence whose labels come inside it: "Staining of" (A) liver; (B) lung.
    # The opening that the items of a list share: "in rostral (A), dorsal (B) views" -> "in"; the
    # list's first item always reads it, later items when lists share their opening.
    list_head: str = ""
    leads_list: bool = False

    def written(self, keep_label: bool, share_list_heads: bool = True) -> str:
        marker = self.marker if keep_label else ""
        head = join(self.head, self.list_head if share_list_heads or self.leads_list else "")
        if self.marker_first:
            return join(head, marker, self.text)
        return join(head, self.text, marker)


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

    @property
    def shared(self) -> str:
        """What the caption says of every panel: its opening and closing text, the whole caption
        when it names no panel. A panel the caption never names (its letter is printed only on the
        image) is described by this alone."""
        return join_sentences(self.preamble, self.closing)

    def subcaption(self, label: str, keep_label: bool = False, share_list_heads: bool = True) -> str | None:
        """The label's own text between the shared opening and closing text; ``keep_label`` keeps
        its marker as written (``(A) Control cells.``), the convention of some annotated sets;
        ``share_list_heads`` gives every item of a list its opening (``of the skull in dorsal
        (B) views``), else only the first item has it, as the caption is written. A label named
        only through its parts (``E`` for ``E1``, ``E2``) gets their text."""
        own = [s for s in self.segments if label.lower() in (x.lower() for x in s.labels)]
        # a panel whose parts alone are labelled: "E" for "(E1 and E2) Astrocytes ..."
        own = own or [s for s in self.segments if any(re.fullmatch(re.escape(label) + r"\d{1,2}", x, re.I) for x in s.labels)]
        if not own:
            return None  # not named here: see ``shared``
        texts = [s.written(keep_label, share_list_heads) for s in own if s.text or s.head or s.list_head]
        return join_sentences(self.preamble, *dict.fromkeys(texts), self.closing)


@lru_cache(maxsize=256)
def split_caption(caption: str) -> CaptionSplit:
    """The caption's labels and subcaptions; remembered for recent captions, since ``subfigures``
    (for the count) and ``subcaptions`` split the same caption in turn. The result is frozen."""
    text = _PUBLISHER_NOTE.sub("", re.sub(r"\s+", " ", caption or "")).strip()
    text = _GLUED_LABEL.sub(" ", text)
    text = _GLUED_NEXT.sub(r"\1 ", text)
    text = _GLUED_SENTENCE.sub(". ", text)
    text = _STOP_AFTER_LABEL.sub(lambda m: m[1] if paren_depth(text, m.start()) <= 0 else m[0], text)
    text = _GLUED_TITLE_LABEL.sub(" ", text)
    text = _title_before_first_label(text)
    markers = keep_weak_in_runs(text, keep_colon_lists(text, drop_articles(find_markers(text))))
    markers = drop_outliers(text, drop_other_case(drop_numbers_among_letters(drop_positions_among_letters(markers))))
    markers = drop_parts_of_named_panels(markers)
    markers = merge_adjacent(text, prefer_inline_run(text, markers))
    if not markers:
        return CaptionSplit(text, text, (), "", "none")
    split = _postfix(text, markers) if _labels_after_text(text, markers) else _prefix(text, markers)
    return _with_cited_panels(_notes_on_named_panels(split))


def _with_cited_panels(split: CaptionSplit) -> CaptionSplit:
    """Panels named only by a citation (``cited.py``): a segment each, with no text of its own."""
    added = tuple(Segment((label,), "", False) for label in cited_panels(split.caption, split.labels()))
    return replace(split, segments=split.segments + added) if added else split


def _notes_on_named_panels(split: CaptionSplit) -> CaptionSplit:
    """``In (A) and (B), blue histograms represent ...``: a closing sentence that opens by naming
    panels is told of those panels only."""
    named = {label.lower(): label for label in split.labels()}
    shared, notes = [], []
    for sentence in split_sentences(split.closing):
        opening = _NAMES_PANELS.match(sentence)
        labels = [named.get(l.lower()) for l in re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", opening["labels"])] if opening else []
        if labels and all(labels):
            notes.append(Segment(tuple(labels), sentence, False))
        else:
            shared.append(sentence)
    if not notes:
        return split
    return replace(split, segments=split.segments + tuple(notes), closing=join(*shared))


def _title_before_first_label(text: str) -> str:
    title_end = _TITLE_BEFORE_FIRST_LABEL.search(text)
    if not title_end or title_end["word"].lower() in CITING_WORDS | RELATION_WORDS:
        return text  # "as in A. B. Cells"
    next_letter = chr(ord(title_end["label"][-1]) + 1)  # "A. ... B.", "A,B. ... C."
    next_label = (next_letter.upper() if title_end["label"][0].isupper() else next_letter.lower()) + title_end["punct"]
    if not re.search(r"[.;] " + re.escape(next_label) + " ", text[title_end.end() :]):
        return text
    return text[: title_end.end("word")] + ". " + text[title_end.end() :]


def _labels_after_text(text: str, markers: list[Marker]) -> bool:
    """Most markers close their clause; half do and none opens a sentence (``tumour (a) and the
    specimen (b).``)."""
    trailing = sum(m.trailing or _before_next_item(text, m) for m in markers)
    return trailing * 2 > len(markers) or (trailing * 2 == len(markers) and not any(at_clause_start(text, m.start) for m in markers))


def _before_next_item(text: str, marker: Marker) -> bool:
    """``T1WI (A) and T2WI (B)``: a label inside its sentence before ``and`` and the next item."""
    return not at_clause_start(text, marker.start) and bool(re.match(r"\s*(?:,\s*)?(?:and|or)\s+[a-z0-9]", text[marker.end :], re.I))


_NAMES_PART = re.compile(r"\((?:left|right|top|bottom|middle|upper|lower)(?:\s+(?:and|&)\s+(?:left|right|top|bottom|middle|upper|lower))?\)", re.IGNORECASE)


def _take_closing(last_text: str, earlier: list[str]) -> tuple[str, str]:
    """Split the shared closing sentences off the last segment's text. Where every earlier panel
    is told in one sentence, the last panel's further sentences are notes on the whole figure
    (statistics, abbreviations, provenance) and all are shared; where earlier panels run to more
    sentences, only closing notes (scale bars, statistics: ``CLOSERS``) are; where earlier panels
    carry such a note of their own, only what follows the last panel's own note is."""
    sentences = split_sentences(last_text)
    earlier_sentences = [split_sentences(text) for text in earlier]
    if all(len(s) <= 1 for s in earlier_sentences):
        # "... inserted at the periphery of the vein (left). ... wedged into the lesion (middle and
        # right).": sentences naming parts of a panel by position go on about the last panel
        parts = [n for n, sentence in enumerate(sentences) if _NAMES_PART.search(sentence)]
        own = max(parts, default=0) + 1
        return " ".join(sentences[:own]), " ".join(sentences[own:])
    if any(CLOSERS.match(sentence) for s in earlier_sentences for sentence in s[1:]):
        own = [n for n, sentence in enumerate(sentences) if CLOSERS.match(sentence)]
        if own and own[-1] + 1 < len(sentences):
            return " ".join(sentences[: own[-1] + 1]), " ".join(sentences[own[-1] + 1 :])
        return last_text, ""
    cut = len(sentences)
    while cut > 1 and CLOSERS.match(sentences[cut - 1]):
        cut -= 1
    return " ".join(sentences[:cut]), " ".join(sentences[cut:])


def _prefix(text: str, markers: list[Marker]) -> CaptionSplit:
    heads, cuts = _sentence_heads(text, markers)
    runs = _runs_after_text(text, markers)
    run_of = {k: run for run in runs for k in run}
    # A label after its text inside a sentence (``larger tumors in size (B) and weight (C).``)
    # takes the words before it, back to the previous marker or its sentence start.
    starts = [max(sentence_start(text, m.start), markers[k - 1].end if k else 0) for k, m in enumerate(markers)]
    named = {run[0] for run in runs if _names_run(markers, run, run_of, starts)}
    opened: set[int] = set()  # markers whose sentence goes on into a run of labels after their text
    for run in runs:
        if run[0] not in named and run[0] > 0 and run[0] - 1 not in run_of and starts[run[0]] == markers[run[0] - 1].end:
            opened.add(run[0] - 1)
            # "(A) Sections were stained with H&E and antibodies against SNAIL1 (B) and OCT3/4 (C).":
            # the label that opened the sentence keeps it up to the conjunction before the list
            conjunction = re.search(r".*(?:,\s*and|,|\band)\s+", text[starts[run[0]] : markers[run[0]].start])
            starts[run[0]] += conjunction.end() if conjunction else 0
    cuts = [starts[k] if k in run_of else cut for k, cut in enumerate(cuts)]
    items = {k: _clean_start(clean(text[starts[k] : markers[k].start])) for k in run_of}
    list_heads: dict[int, str] = {}  # per run member, the sentence opening its items share
    covering: dict[int, str] = {}  # a marker naming the whole run after it (``(A-C) Staining for``) takes that opening
    for run in runs:
        head, items[run[0]] = _list_head(items[run[0]], [items[k] for k in run[1:]])
        if run[0] in named:
            covering[run[0] - 1] = head
        else:
            list_heads.update(dict.fromkeys(run, head))
    segments: list[Segment] = []
    group: list[int] = []  # label-first markers so far in the current sentence
    for k, marker in enumerate(markers):
        written = text[marker.start : marker.end]
        end = cuts[k + 1] if k + 1 < len(markers) else len(text)
        if k not in run_of:
            own = join(_clean_end(clean(text[marker.end : end])), covering.get(k, ""))
            same = bool(group) and group[-1] == k - 1 and not at_clause_start(text, marker.start)
            same = same and sentence_start(text, marker.start) < markers[k - 1].end and not _PREDICATE.search(segments[-1].text)
            group = group + [k] if same else [k]
            predicate = _shared_predicate(text[marker.end : min(end, sentence_end(text, marker.end))]) if len(group) > 1 else ""
            if predicate and (k + 1 == len(markers) or k + 1 in run_of or sentence_start(text, markers[k + 1].start) >= marker.end):
                # "(a) Sagittal and (b) axial T2W images shows cervical cancer.": what the sentence
                # says of its last item it says of all of them
                labels = tuple(dict.fromkeys(label for j in group[:-1] for label in markers[j].labels if label not in marker.labels))
                if labels:
                    segments.append(Segment(labels, predicate, False))
            segments.append(Segment(marker.labels, own, marker.position, written, head=heads[k]))
            continue
        group = []
        run = run_of[k]
        segments.append(Segment(marker.labels, items[k], marker.position, written, False, list_head=list_heads.get(k, ""), leads_list=k == run[0]))
        if k == run[-1]:
            # what follows the run up to the next marker is told of all its labels, and of the
            # marker that named them all first or opened their sentence
            told = ([run[0] - 1] if run[0] - 1 in covering or run[0] - 1 in opened else []) + run
            labels = tuple(dict.fromkeys(label for j in told for label in markers[j].labels))
            segments.append(Segment(labels, _clean_end(clean(text[marker.end : end])), False))
    last, closing = _take_closing(segments[-1].text, [s.text for s in segments[:-1]])
    segments[-1] = replace(segments[-1], text=last)
    preamble = clean(text[: cuts[0]]) if cuts[0] else ""
    return CaptionSplit(text, preamble, tuple(segments), closing, "prefix")


# Verbs that tell what a panel shows: they end a list's shared opening and start a shared predicate.
_REPORTING_VERBS = r"shows?|showed|reveals?|revealed|demonstrates?|demonstrated|indicates?"
_PREDICATE = re.compile(rf"\s(?:{_REPORTING_VERBS}|confirms?)\s")
# A clause of its own after the last item's comma: ", and the calculated ratio was 0.009", ", a collapse can not be seen"
_CLAUSE_AFTER_COMMA = re.compile(r",\s+(?=(?:and\s+)?[^,]*\b(?:is|are|was|were|can|could|cannot)\b[^,]*$)")
_ENDS_IN_REPORTING_VERB = re.compile(rf"\b(?:{_REPORTING_VERBS})\s*$")


def _shared_predicate(sentence: str) -> str:
    """The predicate of the rest of a label's sentence: ``fat-suppressed images shows cervical
    cancer.`` -> ``shows cervical cancer.``"""
    verb = _PREDICATE.search(sentence)
    if verb:
        return sentence[verb.start() :].strip()
    # "(C) water-unsuppressed and (D) water-suppressed spectra, and the ratio was 0.009."
    clause = _CLAUSE_AFTER_COMMA.search(sentence)
    return sentence[clause.end() :].strip() if clause else ""


def _names_run(markers: list[Marker], run: list[int], run_of: dict[int, list[int]], starts: list[int]) -> bool:
    """Whether the marker right before ``run``, in its sentence with nothing between, names all
    the run's labels: ``(A, B, C) Sections showing staining for ghrelin (A), GHSR-1a (B) ...``."""
    before = run[0] - 1
    if before < 0 or before in run_of or starts[run[0]] != markers[before].end:
        return False
    return {l.lower() for k in run for l in markers[k].labels} <= {l.lower() for l in markers[before].labels}


_LEADING_CONJUNCTION = re.compile(r"(?:(?:and|or)\s+)?")
_LIST_ITEM = re.compile(r"^\s*(?:[,;]\s*)?(?:(?:and|or)\s+)?(?:\S+\s+){0,4}\S+\s*$")
_HEAD_END = re.compile(rf"(?::|=|\b(?:for|of|in|with|against|on|at|by|from|to|between|represents?|are|is|equals?|showing|{_REPORTING_VERBS}))(?=\s)")


def _runs_after_text(text: str, markers: list[Marker]) -> list[list[int]]:
    """Runs of markers that close their text inside a sentence of a caption whose other labels
    come first: ``in size (B) and weight (C).``; a list's last item may go on after its label
    (``for SCF (C) and PCNA (D) in the cords``). A lone such label right after another label in
    its sentence (``(A) A scratch ... over time (B). Data ...``) stays as it is."""
    inside = [not m.position and not at_clause_start(text, m.start) for m in markers]
    closes = [m.trailing and ok for m, ok in zip(markers, inside)]
    same_sentence = [k > 0 and sentence_start(text, m.start) < markers[k - 1].end for k, m in enumerate(markers)]
    gaps = [text[markers[k - 1].end : m.start] if k else "" for k, m in enumerate(markers)]
    for k in range(len(markers) - 2, -1, -1):
        # "in size (B) and weight (C).": a label before "and" and the last item closes its text too;
        # "strong vimentin (B) and weak inhibin (C) immunoreactivity": so does a pair inside a sentence
        after, gap = k + 1, gaps[k + 1]
        listed = same_sentence[after] and _LIST_ITEM.match(gap)
        ends_item = closes[after] and re.match(r"\s*(,|;|and\b|or\b)", gap)
        pairs = inside[after] and re.match(r"\s*(,\s*)?(and|or)\s", gap)
        if listed and (ends_item or pairs):
            closes[k] = closes[k] or inside[k]
    runs: list[list[int]] = []
    for k in range(len(markers)):
        if runs and runs[-1][-1] == k - 1 and same_sentence[k] and (closes[k] or _LIST_ITEM.match(gaps[k])):
            runs[-1].append(k)
        elif closes[k]:
            runs.append([k])
    return [run for run in runs if len(run) > 1 or not same_sentence[run[0]]]


def _list_head(first: str, others: list[str]) -> tuple[str, str]:
    """``immunostaining for ghrelin`` before ``GHSR-1a``, ``SCF``: the opening the short items
    share (``immunostaining for``, up to the last preposition or colon) and the first item
    (``ghrelin``); no opening when the items are long."""
    if not others or max(len(o.split()) for o in others) > 5:
        return "", first
    if any(_HEAD_END.match(o + " ") for o in others):
        return "", first  # "of control mice (A), and of knockout mice (B)": each item has its own
    for match in reversed(list(_HEAD_END.finditer(first))):
        rest = first[match.end() :].strip()
        if 1 <= len(rest.split()) <= 6:
            return first[: match.end()].strip(), rest
        if rest:
            break
    return "", first


def _reports(opening: str) -> bool:
    """``Continuous EEG monitoring shows (A) ...``: an opening that ends in its verb says what
    its own sentence's panels show, not what the whole figure is."""
    return bool(_ENDS_IN_REPORTING_VERB.search(opening))


def _sentence_heads(text: str, markers: list[Marker]) -> tuple[list[str], list[int]]:
    """Per marker, the opening words of its sentence when its labels come inside the sentence
    (``Staining of (A) liver; (B) lung.``: both get ``Staining of``), and where the text before the
    marker's segment ends. A caption's first sentence keeps its opening in the shared preamble."""
    heads, cuts = [], []
    heading = ""  # a sentence ending in a colon heads the labels after it up to one that has its own opening
    for k, marker in enumerate(markers):
        previous_end = markers[k - 1].end if k else 0
        start = sentence_start(text, marker.start)
        inside = _inside_sentence(text, marker)
        clause = text.rfind("; ", previous_end, marker.start)
        if k and clause >= 0 and inside:
            # "Left scapula in (A) lateral view; right scapula in (B) lateral ...": a clause's own opening
            clause_start = _LEADING_CONJUNCTION.match(text, clause + 2).end()
            start = clause_start if text[clause_start : marker.start].strip() else start
        # "Result after 9 years: E and F, normal elbow; G and H, ..."
        before = text[start : marker.start].rstrip()
        # "(A) H&E. Positive immunostains; (B) S100, (C) Mart 1": a short sentence after the previous
        # label's own text may head the labels after it with a semicolon
        listed = before.endswith(";") and len(before.split()) <= 4 and text[previous_end:start].strip() != ""
        # "Title. Positive control (EFEMP1 positive) (A) Human ... Negative control (B) ...": a later
        # sentence's opening before the first label, the label opening its own words, heads the labels
        # after it like a heading with a colon
        opens = k == 0 and start > 0 and bool(before) and not marker.trailing and bool(re.match(r"\s*[A-Z]", text[marker.end :]))
        headed = not inside and ((k > 0 and (before.endswith(":") or listed)) or opens)
        # "B. Cancer with glands, C. 24 h later", "B: Doppler. In this example, ..., C: Map": a sentence
        # opened by the previous label's full stop, or ending in a bare label after its comma, is the
        # previous label's text
        opened_by_previous = k > 0 and (not text[previous_end:start].strip() or (text[marker.start] != "(" and after_list_comma(text, marker.start)))
        if (inside or headed) and not opened_by_previous and start < marker.start and start >= previous_end and (start > 0 or _reports(text[: marker.start])):
            heads.append(_clean_end(clean(text[start : marker.start])))
            cuts.append(start)
            heading = heads[-1] if headed else ""
        elif k and start < previous_end and heads[k - 1]:
            heads.append(heads[k - 1])  # another label of the same sentence
            cuts.append(marker.start)
        else:
            heads.append(heading if at_clause_start(text, marker.start) else "")
            cuts.append(marker.start)
    return heads, cuts


def _inside_sentence(text: str, marker: Marker) -> bool:
    """A marker that continues its sentence: after a lowercase word (``for (A) liver``), followed by
    its own words, not by a conjunction (``in size (B) and weight``: label after text) and not by a
    capitalised word (``20 microns (c) Hematoxylin``: a new sentence that lost its full stop) unless
    a reporting verb leads into it."""
    before = re.search(r"([A-Za-z]+),?\s*$", text[: marker.start])
    after = re.match(r"\s*([^\s]+)", text[marker.end :])
    if marker.trailing or not before or not before.group(1).islower() or not after:
        return False
    if _ENDS_IN_REPORTING_VERB.search(text[: marker.start]):
        return True  # "CT scanning shows A) Large splenic metastasis"
    word = after.group(1)
    return word.lower() not in ("and", "or", "while", "whereas") and not re.fullmatch(r"[A-Z][a-z]+[,.;:]?", word)


def _clean_start(piece: str) -> str:
    """Drop a leading conjunction: ``and weight`` (C) -> ``weight``."""
    return re.sub(r"^(and|while|whereas|or)\s+", "", piece)


def _clean_end(piece: str) -> str:
    """Drop a dangling conjunction: ``mefloquine, and`` (C) ... -> ``mefloquine``."""
    return re.sub(r"(?:[\s,;]+(?:and|or|either|while|whereas))+$", "", piece)


def _postfix(text: str, markers: list[Marker]) -> CaptionSplit:
    """Each label takes the words before it back to the previous label or its sentence start. A
    label opening a sentence in such a caption (``(a) An overview. Cells chosen ... (b).``) takes
    the rest of that sentence instead. The rest of a sentence after its last label is told of the
    sentence's labels (``_sentence_tails``); what follows is shared."""
    segments: list[Segment] = []  # one per marker
    runs: list[list[int]] = []  # labels after their text, listed one after another in a sentence
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
        piece = _clean_start(clean(text[start : marker.start]))
        if k and not segments[-1].marker_first and start == used == markers[k - 1].end:
            runs[-1].append(k)  # the next item of a list: "in rostral (A), dorsal (B) and caudal (C) views"
        else:
            runs.append([k])
        used = marker.end
        segments.append(Segment(marker.labels, piece, marker.position, text[marker.start : marker.end], marker_first=False))
    for run in (part for r in runs for part in _own_openings(r, segments) if len(part) > 1):
        head, first = _list_head(segments[run[0]].text, [segments[k].text for k in run[1:]])
        if head:
            segments[run[0]] = replace(segments[run[0]], text=first)
            for k in run:
                segments[k] = replace(segments[k], list_head=head, leads_list=k == run[0])
    tails, closing_start = _sentence_tails(text, markers, segments, used)
    return CaptionSplit(text, clean(text[:first_start]), tuple(segments) + tuple(tails), clean(text[closing_start:]), "postfix")


def _own_openings(run: list[int], segments: list[Segment]) -> list[list[int]]:
    """A list item with an opening of its own starts a new list: ``stenosis of the circumflex (A)
    and lesions in RCA (B) and LAD (C)``: ``LAD`` reads ``lesions in``, not ``stenosis of``."""
    parts = [run[:1]]
    for k in run[1:]:
        opening = _HEAD_END.search(segments[k].text + " ")
        if opening and len(segments[k].text[: opening.start()].split()) >= 2:
            parts.append([k])
        else:
            parts[-1].append(k)
    return parts


def _sentence_tails(text: str, markers: list[Marker], segments: list[Segment], used: int) -> tuple[list[Segment], int]:
    """``Low signal on T1WI (A) and T2WI (B) indicates hemorrhage.``: the rest of a sentence after
    its last label is told of all the labels that close their text in it. Returns those pieces and
    where the shared closing text starts."""
    by_sentence: dict[int, list[int]] = {}
    for k, segment in enumerate(segments):
        if not segment.marker_first:
            by_sentence.setdefault(sentence_end(text, markers[k].start), []).append(k)
    tails = []
    closing_start = used
    for end, members in by_sentence.items():
        last = members[-1]
        stop = min([end] + [m.start for m in markers[last + 1 :]])
        tail = _clean_end(clean(text[markers[last].end : stop]))
        if last == len(markers) - 1:
            if len(members) == 1:
                continue  # a lone label closing the caption: the rest of its sentence stays in the shared closing
            closing_start = max(used, end)
        if tail:
            labels = tuple(dict.fromkeys(label for k in members for label in markers[k].labels))
            tails.append(Segment(labels, tail, False))
    return tails, closing_start
