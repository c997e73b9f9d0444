"""How far the subcaption rules hold when a caption writes its labels another way.

The gold sets hold the marker forms of the journals they came from, and the rules were written
against them; unseen captions write the same panels as ``A.``, ``A)``, ``A:`` or a bare ``A``.
Each gold caption whose labels are single letters written ``(A)``, ``A.``, ``A)`` or ``A:`` at the
start of a clause is rewritten in every form of ``FORMS`` (in the letters' own case, three in lower
case, and a bare letter before a lower-case word, ``LOWER_CASE_AFTER``), with its items run on with
commas (``JOINED_BY_COMMA``), and split again: the labels found should be the same whatever their
case, and each subcaption the same text apart from its marker. No gold text is needed, so both
parts of every set can be read this way; the share kept per form shows where the rules lean on the
forms they were tuned on.
"""

from __future__ import annotations

import re

import numpy as np

from stages.subcaptions.split import split_caption
from stages.subcaptions.text import at_clause_start

# A single-letter label before its words, as a caption writes it: "(A) Axial CT", "A. Axial CT",
# "A) Axial CT", "A: Axial CT".
_WRITTEN = re.compile(r"(?<![\w(])(?:\((?P<inner>[A-Za-z])\)|(?P<bare>[A-Za-z])[.):])\s+(?=\S)")
FORMS = {  # each with the space after it, but where a caption's text runs the label into its first word
    "(A)": lambda letter: f"({letter}) ",
    "A.": lambda letter: f"{letter}. ",
    "A)": lambda letter: f"{letter}) ",
    "A:": lambda letter: f"{letter}: ",
    "A,": lambda letter: f"{letter}, ",
    "A": lambda letter: f"{letter} ",
    "Panel A:": lambda letter: f"Panel {letter}: ",
    "[A]": lambda letter: f"[{letter}] ",
    "Panel A.": lambda letter: f"Panel {letter}. ",
    "Panel A,": lambda letter: f"Panel {letter}, ",
    "(Panel A)": lambda letter: f"(Panel {letter}) ",
    "A -": lambda letter: f"{letter} - ",
    "A –": lambda letter: f"{letter} – ",
    "A-": lambda letter: f"{letter}- ",
    "(A)Axial": lambda letter: f"({letter})",  # "<bold>(A)</bold>Axial CT" taken out of the XML with no space
    # the same in lower case, as many journals write them: "(a)", "a.", "a Axial CT"
    "(a)": lambda letter: f"({letter.lower()}) ",
    "a.": lambda letter: f"{letter.lower()}. ",
    "a": lambda letter: f"{letter.lower()} ",
    "A axial": lambda letter: f"{letter} ",  # and the word after it in lower case: "A axial CT ... B coronal CT"
}
# Items run on with commas instead of full stops: "A: Echocardiography of the fistula, B: Color Doppler ..."
JOINED_BY_COMMA = {"A., B.": "A.", "A:, B:": "A:", "A), B)": "A)", "a, b": "a"}
LOWER_CASE_AFTER = {"A axial"}
ALL_FORMS = [*FORMS, *JOINED_BY_COMMA]


def _written_labels(caption: str) -> list[re.Match]:
    return [m for m in _WRITTEN.finditer(caption) if at_clause_start(caption, m.start())]


def rewritable(caption: str) -> bool:
    """Two or more labels written in one of those forms, each opening a clause, that are the
    labels the rules find, in order (a label inside a sentence, ``T1WI (A) and T2WI (B)``, has no
    natural ``A.`` form; ``A. thaliana`` is no label to rewrite)."""
    found = [(m["inner"] or m["bare"]) for m in _written_labels(caption)]
    return len(found) >= 2 and found == split_caption(caption).labels()


def rewrite(caption: str, form: str) -> str:
    if form in LOWER_CASE_AFTER:
        caption = _lower_case_after_labels(caption)
    written = {m.start() for m in _written_labels(caption)}
    marker = FORMS[JOINED_BY_COMMA.get(form, form)]
    out = _WRITTEN.sub(lambda m: marker(m["inner"] or m["bare"]) if m.start() in written else m[0], caption)
    if form in JOINED_BY_COMMA:  # the full stop closing each item before the next label becomes a comma
        starts = [m.start() for m in _written_labels(out)][1:]
        for start in reversed(starts):
            before = out[:start].rstrip()
            if before.endswith("."):
                out = before[:-1] + ", " + out[start:]
    return out


def _lower_case_after_labels(caption: str) -> str:
    """``(A) Axial CT`` -> ``(A) axial CT``; an acronym (``CT``) stays as it is."""
    chars = list(caption)
    for m in _written_labels(caption):
        if re.match(r"[A-Z][a-z]+\b", caption[m.end() :]):
            chars[m.end()] = chars[m.end()].lower()
    return "".join(chars)


def _own_texts(caption: str) -> dict[str, str]:
    split = split_caption(caption)
    return {label.lower(): split.subcaption(label) or "" for label in split.labels()}


def marker_form_consistency(captions: list[str], similarity) -> dict:
    """Per form: how many captions were rewritten, the share whose labels stay the same, and the
    mean similarity of their subcaptions to those of the caption as written (``similarity(a, b)``, 1 for the
    same text), over the captions whose labels stayed."""
    chosen = [caption for caption in captions if rewritable(caption)]
    originals = [_own_texts(caption) for caption in chosen]
    report = {"captions": len(chosen)}
    for form in ALL_FORMS:
        same, similar = 0, []
        for caption, original in zip(chosen, originals):
            rewritten = _own_texts(rewrite(caption, form))
            if list(rewritten) != list(original):
                continue
            same += 1
            similar.append(np.mean([similarity(original[label], rewritten[label]) for label in original]))
        report[form] = {
            "labels_same": round(same / len(chosen), 4) if chosen else None,
            "subcaption_similarity": round(float(np.mean(similar)), 4) if similar else None,
        }
    return report
