"""Which of the markers ``markers.py`` finds are panel labels: weak forms kept only inside a run,
citations dropped, and filters for what is no label (stains, minority-case letters, positions among
letters, letters far outside the run, parts of named panels)."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

from stages.subcaptions.cited import cited_letters
from stages.subcaptions.markers import Marker, label_rank

_COLON = re.compile(r":\s*")
_LISTED_WITH = re.compile(r"\s*(?:,|&|and|or|,\s*and)\s*")


def keep_weak_in_runs(text: str, markers: list[Marker]) -> list[Marker]:
    """Keep a weak marker only where it continues a run (``_continues_run``) and the run reaches
    at least two labels. One naming only panels already named on their own cites them; panels
    named only in a group (``Panels A-D show ...``, ``(A and B)``) may still be labelled one by one."""
    markers = _drop_citations(text, markers)
    ranks = [[label_rank(l) for l in m.labels] for m in markers]
    cited = {label_rank(letter) for letter in cited_letters(text)}
    seen: set[tuple[str, int]] = set()
    told: set[tuple[str, int]] = set()  # panels named on their own, not only in a group ("Panels A-D show")
    kept: list[Marker] = []
    for marker, marker_ranks in zip(markers, ranks):
        if marker.weak:
            # the same panel again, described: "(D, upper graph) ... (D, middle graph)"
            again = marker.described and bool(kept) and kept[-1].labels == marker.labels
            if not again and (not _continues_run(marker_ranks[0], _bridged(seen, cited)) or (all(marker_ranks) and set(marker_ranks) <= told)):
                continue  # out of the run, or naming only panels already named: "(white arrow, b)" in d's text
        kept.append(marker)
        seen.update(r for r in marker_ranks if r)
        told.update(r for r in marker_ranks if r and len(marker_ranks) == 1)
    # A run that never gets past its first label ("A, B and C show ...", "A Western blot") is no run.
    return [marker for marker in kept if not (marker.weak and len(kept) < 2)]


def drop_articles(markers: list[Marker]) -> list[Marker]:
    """``A represents ...`` opens a run only where the next lone label is ``B`` of the same case
    (``A protein expression ... B disease-free survival``), and only the first such ``A`` before
    that ``B``; elsewhere it is the article."""
    lone = [k for k, m in enumerate(markers) if m.weak and m.end - m.start == 1 and not m.article]
    opening, claimed = set(), set()
    for k, marker in enumerate(markers):
        following = next((j for j in lone if j > k), None) if marker.article else None
        if following is not None and following not in claimed and markers[following].labels == (chr(ord(marker.labels[0]) + 1),):
            opening.add(k)
            claimed.add(following)
    return [m for k, m in enumerate(markers) if not m.article or k in opening]


def _drop_citations(text: str, markers: list[Marker]) -> list[Marker]:
    """``as in (A)``: a marker after ``in``, ``of`` ... naming a panel another marker names cites
    it, and so do the markers listed with it (``In (A) and (B), blue histograms ...``)."""
    cited: set[int] = set()
    for k, marker in enumerate(markers):
        listed = k - 1 in cited and _LISTED_WITH.fullmatch(text[markers[k - 1].end : marker.start])
        if (marker.related or listed) and _named_elsewhere(marker, markers):
            cited.add(k)
    return [m for k, m in enumerate(markers) if k not in cited]


def _bridged(seen: set[tuple[str, int]], cited: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """``seen`` and the cited letters that carry its run on, one after another (``D, ... quantified
    in E and F. G, ...``: E and F carry D's run to G)."""
    reached = set(seen)
    for kind, value in sorted(seen):
        while (kind, value + 1) in cited:
            value += 1
            reached.add((kind, value))
    return reached


def _continues_run(rank: tuple[str, int] | None, seen: set[tuple[str, int]]) -> bool:
    """The first label (``a``, ``1``), or one or two past a label seen before: a panel named only in
    passing (``B, quantified in C. D, ...``) leaves a gap of one."""
    if rank is None:
        return False
    kind, value = rank
    kinds = (kind,) if kind == "digit" else ("upper", "lower")
    return value == 1 or any((k, value - step) in seen for k in kinds for step in (1, 2))


def _named_elsewhere(marker: Marker, markers: list[Marker]) -> bool:
    """``(A) ... the same cells as in (A)``: an earlier marker already names the panel this one cites
    (``Left scapula in (A) ... (A) and (B) photographed`` introduces A first), on its own: after
    ``(C and D) CT: on (C) end-expiration and (D) end-inspiration`` C and D are each labelled."""
    own = {l.lower() for l in marker.labels}
    return any(own & {l.lower() for l in other.labels} for other in markers if other.start < marker.start and len(other.labels) == 1)


def merge_adjacent(text: str, markers: list[Marker]) -> list[Marker]:
    """``(c), (d)`` and ``(B) and (C):`` name their panels together, as ``(c, d)`` would."""
    merged: list[Marker] = []
    for marker in markers:
        previous = merged[-1] if merged else None
        if previous and not (previous.position or marker.position) and re.fullmatch(r"\s*(?:,|&|and|or|,\s*and)?\s*", text[previous.end : marker.start]):
            merged[-1] = replace(
                previous, end=marker.end, labels=previous.labels + marker.labels, trailing=marker.trailing,
                weak=previous.weak and marker.weak, related=previous.related and marker.related, described=marker.described,
            )
        else:
            merged.append(marker)
    return merged


def keep_colon_lists(text: str, markers: list[Marker]) -> list[Marker]:
    """Labels close the items before their colons only in a list of such items; a lone one
    (``Note: A, hematoxylin and eosin``) opens its text."""
    if sum(m.after_colon for m in markers) >= 2:
        return markers
    def opening(marker: Marker) -> Marker:
        label_start = _COLON.match(text, marker.start).end()
        return replace(marker, start=label_start, trailing=False, after_colon=False)

    return [opening(m) if m.after_colon else m for m in markers]


def drop_positions_among_letters(markers: list[Marker]) -> list[Marker]:
    """``(A) ... (left panel) ... (right panel)``: with two or more lettered or numbered markers,
    position words describe parts of a panel, not panels."""
    if sum(not m.position for m in markers) < 2:
        return markers
    return [m for m in markers if not m.position]


def drop_numbers_among_letters(markers: list[Marker]) -> list[Marker]:
    """``(A) ... Numbered structures: (1) SMR, (2) ...``: with two or more lettered markers, bare
    numbers count structures, lanes or samples inside a panel, not panels; so do roman numerals
    after the first letter (``a Top views, b side views ... Columns (i), (ii), and (iii)``)."""
    romans = _has_romans(markers)
    lettered = [n for n, m in enumerate(markers) if any(_letter(l, romans) for l in m.labels)]
    if len(lettered) < 2:
        return markers

    def counts(n: int, marker: Marker) -> bool:
        return all(l.isdigit() or (n > lettered[0] and _roman(l, romans)) for l in marker.labels)

    return [m for n, m in enumerate(markers) if m.position or not counts(n, m)]


def drop_other_case(markers: list[Marker]) -> list[Marker]:
    """Drop single-letter markers in the minority case when one case clearly leads: ``(H)`` among
    ``(a)-(e)``; or, however many they are, the case nested inside the other (``_nested_in``). Roman ``i``/``v``/``x`` stay where the caption also has ``ii``, ``iv`` ..."""
    romans = _has_romans(markers)

    def case(marker: Marker) -> str | None:
        single = [l for l in marker.labels if _letter(l, romans)]
        if not single or marker.position:
            return None
        return "lower" if all(l.islower() for l in single) else "upper" if all(l.isupper() for l in single) else None

    counts = {"lower": 0, "upper": 0}
    for marker in markers:
        if case(marker):
            counts[case(marker)] += 1
    leading = max(counts, key=counts.get)
    minority = "upper" if leading == "lower" else "lower"
    if _nested_in(leading, minority, [case(m) for m in markers], markers):
        return [m for m in markers if case(m) != leading]
    if counts[leading] < 2 * max(counts[minority], 1):
        return markers
    return [m for m in markers if case(m) != minority]


def _nested_in(inner: str, outer: str, cases: list[str | None], markers: list[Marker]) -> bool:
    """``(A) ... low (a, b) and high (c, d) ... (B) ... low (a, b)``: the ``inner`` case starts its
    letters again after a new ``outer`` label, and the outer labels name each panel once, in order.
    The inner letters then name parts of a panel, however many there are."""
    outer_letters = [ord(m.labels[0].lower()) for m, c in zip(markers, cases) if c == outer]
    if len(outer_letters) < 2 or any(b <= a for a, b in pairwise(outer_letters)):
        return False
    restarts, previous, outer_since = 0, None, False
    for marker, marker_case in zip(markers, cases):
        if marker_case == outer:
            outer_since = True
        elif marker_case == inner:
            first = ord(marker.labels[0].lower())
            restarts += previous is not None and first <= previous and outer_since
            previous, outer_since = ord(marker.labels[-1].lower()), False
    return restarts > 0


def drop_parts_of_named_panels(markers: list[Marker]) -> list[Marker]:
    """``B, Left femur in dorsal (B1) and medial (B2) views``: where a plain letter names a panel,
    the letter with a number names a view inside it, not a panel of its own."""
    plain = {l.lower() for m in markers if not m.position for l in m.labels if len(l) == 1 and l.isalpha()}
    return [m for m in markers if m.position or not all(re.fullmatch(r"[A-Za-z]\d{1,2}", l) and l[0].lower() in plain for l in m.labels)]


def _has_romans(markers: list[Marker]) -> bool:
    return any(len(l) > 1 and set(l.lower()) <= set("ivx") for m in markers for l in m.labels)


def _roman(label: str, romans: bool) -> bool:
    """``ii``, ``iv``; and ``i``, ``v``, ``x`` where the caption has such numerals (``romans``)."""
    return set(label.lower()) <= set("ivx") and (len(label) > 1 or romans)


def _letter(label: str, romans: bool) -> bool:
    return len(label) == 1 and label.isalpha() and not _roman(label, romans)


def _follows_numbered(letter: str, markers: list[Marker]) -> bool:
    """``(A1) one. (A2) two. (B) three.``: a letter after numbered labels of its case continues their run."""
    return any(
        re.fullmatch(r"[A-Za-z]\d{1,2}", l) and l[0].isupper() == letter.isupper() and 0 < ord(letter.lower()) - ord(l[0].lower()) <= 2
        for m in markers for l in m.labels
    )


def drop_outliers(text: str, markers: list[Marker]) -> list[Marker]:
    """Drop single-letter markers far outside the caption's run of letters: ``(N)`` for "normal" among A-D;
    and the caption's only single letter unless it is ``a``, which starts no run: ``sections of normal
    (N), serous cystadenomas (Cy)``, ``between Lys-143 (H) and ATP (O1B)``. Letters the caption
    cites bridge a gap in the run (``D, ... quantified in E and F. G, ...``)."""
    romans = _has_romans(markers)
    singles = [l for m in markers if not m.position for l in m.labels if _letter(l, romans)]
    letters = sorted({ord(l.lower()) for l in singles})
    if len(singles) == 1 and singles[0].lower() != "a" and not _follows_numbered(singles[0], markers):
        return [m for m in markers if m.labels != (singles[0],)]
    if len(letters) < 2:
        return markers
    cited = {ord(letter.lower()) for letter in cited_letters(text) if letter.isupper() == singles[0].isupper()}
    run_end = letters[0]
    for value in letters[1:]:
        if value - run_end > 2 and not all(between in cited for between in range(run_end + 1, value)):
            break
        run_end = value
    def inside(marker: Marker) -> bool:
        single = [l for l in marker.labels if _letter(l, romans)]
        return marker.position or not single or any(ord(l.lower()) <= run_end for l in single)
    return [m for m in markers if inside(m)]
