"""Measure panel splitting against a demo corpus's truth and subcaption splitting against real annotations.

``evaluate_panels`` matches predicted to true boxes one-to-one at IoU >= 0.5 (greedy, highest IoU
first) and reports precision, recall and F1 over all panels, plus how often a one-picture figure
is kept whole. ``evaluate_subcaptions`` scores split captions against human annotations: per
gold label, the normalised Levenshtein similarity of our subcaption to the gold one (0 when we
produce none; the metric of compound-figure-separator), token F1 (MedICaT style), and label F1.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.evaluation.gold_parts import PARTS, part_of
from pipeline.evaluation.marker_forms import marker_form_consistency
from stages.subcaptions.align import caption_panels
from stages.subcaptions.confidence import caption_confidence
from stages.subcaptions.llm_split import routed
from stages.subcaptions.split import split_caption
from stages.subfigures.layout import area, intersection
from stages.subfigures.split import Box, SplitParams, match_boxes, split_image

# Real ground truth lives beside the repository (shared/realdata), never inside it.
REALDATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
DEFAULT_SUBCAPTION_ROOT = REALDATA_ROOT / "subcaptions"
# Thresholds of the precision-against-yield curves (panels and subcaptions); a subcaption this
# similar to the gold counts as a right pair.
CONFIDENCE_CURVE = (0.0, 0.25, 0.5, 0.75, 0.9)
RIGHT_SIMILARITY = 0.8
REALDATA_PMC = REALDATA_ROOT / "pmc"


def coverage(predicted: Box, true: Box) -> float:
    """Share of the true box's area that the predicted box covers."""
    true_area = area(true)
    return intersection(predicted, true) / true_area if true_area else 0.0


def imageclef_accuracy(predicted: list[Box], truth: list[Box], share: float = 2 / 3) -> float:
    """ImageCLEF subfigure-separation score of one figure: a true panel is found when a predicted box
    (each used once) covers at least ``share`` of it; found / max(true, predicted)."""
    found = len(match_boxes(predicted, truth, share, score=coverage))
    denominator = max(len(truth), len(predicted))
    return found / denominator if denominator else 1.0


def evaluate_panels(corpus: Path, *, limit: int | None = None, params: SplitParams = SplitParams(), threshold: float = 0.5, worst: int = 5) -> dict:
    from pipeline.demo_corpus import load_truth

    _, figures = load_truth(corpus)
    figures = [f for f in figures if f["width"] and not f["expected_drop"]][:limit]
    tp = fp = fn = 0
    single = single_whole = compound = compound_count = 0
    seconds = 0.0
    accuracies, cases = [], []
    for figure in figures:
        with Image.open(Path(corpus) / f"{figure['pmcid']}.{figure['version']}" / figure["media_name"]) as image:
            image.load()
            started = time.perf_counter()
            result = split_image(image, params)
            seconds += time.perf_counter() - started
        truth = [tuple(p["box"]) for p in figure["panels"]]
        matched = len(match_boxes(result.boxes, truth, threshold))
        tp, fp, fn = tp + matched, fp + len(result.boxes) - matched, fn + len(truth) - matched
        accuracy = imageclef_accuracy(result.boxes, truth)
        accuracies.append((accuracy, bool(figure["compound"])))
        cases.append((accuracy, f"{figure['pmcid']}.{figure['version']}/{figure['media_name']}", len(truth), len(result.boxes), matched))
        if figure["compound"]:
            compound += 1
            compound_count += len(result.boxes) == len(truth)
        else:
            single += 1
            single_whole += len(result.boxes) == 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    cases.sort(key=lambda c: (c[0], c[1]))
    return {
        "figures": len(figures),
        "panels_true": tp + fn,
        "panels_predicted": tp + fp,
        "iou_threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "imageclef_accuracy": round(float(np.mean([a for a, _ in accuracies])), 4) if accuracies else None,
        # Compound figures alone: a one-picture figure kept whole is the whole image, so it
        # scores 1 whenever it is not cut.
        "imageclef_accuracy_compound": round(float(np.mean([a for a, c in accuracies if c])), 4) if compound else None,
        "single_figures": single,
        "single_kept_whole": round(single_whole / single, 4) if single else None,
        "compound_figures": compound,
        "compound_count_exact": round(compound_count / compound, 4) if compound else None,
        "split_seconds": round(seconds, 3),
        "figures_per_second": round(len(figures) / seconds, 1) if seconds else None,
        "worst": [
            {"figure": name, "imageclef_accuracy": round(acc, 3), "panels_true": n_true, "panels_predicted": n_pred, "matched_iou_0_5": m,
             "problem": "over-split" if n_pred > n_true else "under-split" if n_pred < n_true else "boxes misplaced"}
            for acc, name, n_true, n_pred, m in cases[:worst]
        ],
    }


def panel_counts(root: Path, params: SplitParams = SplitParams()) -> list[dict]:
    """Panels found in each real figure image under ``root`` (no box truth there: counts only)."""
    rows = []
    for path in sorted(Path(root).rglob("*.jpg")):
        with Image.open(path) as image:
            image.load()
            result = split_image(image, params)
        rows.append({"image": str(path.relative_to(root)), "size": list(image.size), "panels": len(result.boxes), "confidence": round(result.confidence, 3)})
    return rows


def levenshtein(a: str, b: str) -> int:
    """Edit distance, one numpy row per character of ``a``."""
    if not a or not b:
        return len(a) + len(b)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    previous = np.arange(len(b) + 1)
    for i, char in enumerate(a, start=1):
        substitution = previous[:-1] + (codes_b != ord(char))
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, substitution)
        # Insertions run left to right: a cumulative minimum of (value - index) finds them in one pass.
        offsets = np.arange(len(current))
        current = np.minimum.accumulate(current - offsets) + offsets
        previous = current
    return int(previous[-1])


def similarity(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 - levenshtein(a, b) / longest if longest else 1.0


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def token_f1(predicted: str, gold: str) -> float:
    p, g = Counter(_tokens(predicted)), Counter(_tokens(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def score_captions(
    items: list[tuple[str, list[tuple[str, str]]]], keys: list[str] | None = None, worst: int = 5, keep_label: bool = False, share_list_heads: bool = True,
    llm: "LlmRoute | None" = None,
) -> dict:  # fmt: skip
    """``items``: (caption, [(gold label, gold subcaption), ...]) per figure; an empty gold
    subcaption scores labels only (SODA panels without a curated caption). ``keep_label``: the
    gold keeps each label marker in its subcaption, so ours keeps it too (see ``GOLD_FORMATS``).
    ``llm``: the LLM splitter's subcaptions replace the rules' where it is routed and its answer
    passes the check (``stages/subcaptions/llm_split.py``), as in the pipeline."""
    by_llm = llm.answers(items) if llm else {}
    similarities, f1s, per_figure, cases = [], [], [], []
    sure = []  # per figure with two or more labels: (caption confidence, its subcaptions' similarities)
    unnamed_as_zero = []  # compound-figure-separator's scoring: a label we did not name scores 0
    figure_of = []  # per gold subcaption, the index of its figure
    label_tp = label_fp = label_fn = 0
    exact_labels = 0
    for n, (caption, gold) in enumerate(items):
        split = split_caption(caption)
        predicted = {label.lower(): label for label in split.labels()}
        gold_labels = {label.lower() for label, _ in gold}
        label_tp += len(gold_labels & set(predicted))
        label_fp += len(set(predicted) - gold_labels)
        label_fn += len(gold_labels - set(predicted))
        exact_labels += gold_labels == set(predicted)
        scored = []
        for label, text in gold:
            if not text:
                continue
            named = split.subcaption(label, keep_label, share_list_heads)
            if n in by_llm and label.lower() in by_llm[n]:
                named = by_llm[n][label.lower()]
            # A panel the caption never names gets what it says of every panel, as the gold does.
            ours = split.shared if named is None else named
            score = similarity(_norm(ours), _norm(text))
            scored.append((score, label, text, ours))
            f1s.append(token_f1(ours, text))
            unnamed_as_zero.append(0.0 if named is None else score)
        judged = caption_confidence(split)
        if judged is not None and scored:
            sure.append((judged[0], [s for s, *_ in scored]))
        similarities += [s for s, *_ in scored]
        figure_of += [n] * len(scored)
        if scored:
            figure_score = float(np.mean([s for s, *_ in scored]))
            per_figure.append(figure_score)
            cases.append((figure_score, n, caption, gold_labels, predicted, split.style, min(scored, key=lambda s: s[0])))
    precision = label_tp / (label_tp + label_fp) if label_tp + label_fp else 0.0
    recall = label_tp / (label_tp + label_fn) if label_tp + label_fn else 0.0
    cases.sort(key=lambda c: (c[0], c[1]))
    return {
        "figures": len(items),
        "gold_subcaptions": len(similarities),
        # per gold subcaption (every label weighs the same) ...
        "mean_levenshtein_similarity": round(float(np.mean(similarities)), 4) if similarities else None,
        # ... and per figure, then over figures (compound-figure-separator's averaging)
        "mean_levenshtein_similarity_per_figure": round(float(np.mean(per_figure)), 4) if per_figure else None,
        "mean_token_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "mean_levenshtein_similarity_unnamed_as_zero": round(float(np.mean(unnamed_as_zero)), 4) if unnamed_as_zero else None,
        "label_precision": round(precision, 4),
        "label_recall": round(recall, 4),
        "label_sets_exact": round(exact_labels / len(items), 4) if items else None,
        "emitted_by_confidence": [emitted_subcaptions(sure, threshold) for threshold in CONFIDENCE_CURVE],
        **({"llm_splitter": llm.report(items)} if llm else {}),
        # Every 5th figure apart: a rule tuned to the rest should do as well there.
        "held_out_every_5th_figure": _subset_means(similarities, f1s, [n % 5 == 4 for n in figure_of]),
        "rest": _subset_means(similarities, f1s, [n % 5 != 4 for n in figure_of]),
        "worst": [_describe(case, keys) for case in cases[:worst]],
    }


class LlmRoute:
    """The LLM splitter over a gold set: which captions it is asked (every labelled one, or those
    whose rule split is below ``min_confidence``), its checked answers, remembered per caption."""

    def __init__(self, splitter, route: str = "unsure", min_confidence: float = 0.5):
        self.splitter, self.route, self.min_confidence = splitter, route, min_confidence
        self.asked: dict[tuple[str, tuple[str, ...]], tuple[dict | None, str]] = {}

    def routed(self, caption: str) -> list[str] | None:
        split = split_caption(caption)
        labels, _, problem = caption_panels(split)
        if len(labels) < 2 or problem:
            return None
        return labels if routed(self.route, caption_confidence(split), self.min_confidence) else None

    def answers(self, items) -> dict[int, dict[str, str]]:
        """Per item index: lower-cased label -> the LLM's subcaption, where it passed the check."""
        routed = {n: (caption, labels) for n, (caption, _) in enumerate(items) if (labels := self.routed(caption))}
        missing = list({(caption, tuple(labels)) for caption, labels in routed.values()} - set(self.asked))
        for key, answer in zip(missing, self.splitter.split_many([(caption, list(labels)) for caption, labels in missing])):
            self.asked[key] = answer
        found = {}
        for n, (caption, labels) in routed.items():
            texts = self.asked[(caption, tuple(labels))][0]
            if texts:
                found[n] = {label.lower(): text for label, text in texts.items()}
        return found

    def report(self, items) -> dict:
        answers = [self.asked[(caption, tuple(labels))] for caption, _ in items if (labels := self.routed(caption))]
        reasons = Counter(re.sub(r"\[.*?\]|'.*?'|\d+", "…", why) for texts, why in answers if texts is None)
        return {
            "splitter": self.splitter.label, "route": self.route, "asked": len(answers), "accepted": sum(t is not None for t, _ in answers),
            "refused_because": dict(reasons.most_common(5)),
        }  # fmt: skip


def emitted_subcaptions(sure: list[tuple[float, list[float]]], min_confidence: float) -> dict:
    """What a threshold on the caption confidence keeps of the figures with two or more labels: the
    share of them split, the mean similarity of their subcaptions, and the share of those at
    least ``RIGHT_SIMILARITY`` similar to the gold (a trainer's "right pair")."""
    kept = [value for sureness, values in sure if sureness >= min_confidence for value in values]
    return {
        "min_confidence": min_confidence,
        "figures_split_share": round(sum(c >= min_confidence for c, _ in sure) / len(sure), 4) if sure else None,
        "mean_levenshtein_similarity": round(float(np.mean(kept)), 4) if kept else None,
        "right_share": round(float(np.mean([value >= RIGHT_SIMILARITY for value in kept])), 4) if kept else None,
    }


def _subset_means(similarities: list[float], f1s: list[float], chosen: list[bool]) -> dict:
    picked = [(s, f) for s, f, keep in zip(similarities, f1s, chosen) if keep]
    if not picked:
        return {"gold_subcaptions": 0}
    return {
        "gold_subcaptions": len(picked),
        "mean_levenshtein_similarity": round(float(np.mean([s for s, _ in picked])), 4),
        "mean_token_f1": round(float(np.mean([f for _, f in picked])), 4),
    }


def _describe(case, keys: list[str] | None) -> dict:
    score, n, caption, gold_labels, predicted, style, (_, label, gold_text, ours) = case
    missing, extra = sorted(gold_labels - set(predicted)), sorted(set(predicted) - gold_labels)
    # Some gold labels are printed only on the image: no caption splitter can find those.
    unwritten = [m for m in missing if not _written(m, caption)]
    if unwritten:
        problem = f"gold labels never written in the caption (image only): {unwritten}"
        if set(missing) - set(unwritten):
            problem += f"; in the caption but not found: {sorted(set(missing) - set(unwritten))}"
    elif not predicted:
        problem = "no labels found in the caption"
    elif missing:
        problem = f"labels not found: {missing}" + (f"; labels not in the gold: {extra}" if extra else "")
    elif extra:
        problem = f"labels not in the gold: {extra}; subcaption boundaries differ"
    else:
        problem = "labels right, subcaption text differs (shared text or boundaries)"
    described = {
        "figure": keys[n] if keys else n,
        "similarity": round(score, 3),
        "style": style,
        "problem": problem,
        "worst_label": label,
        "gold": gold_text[:300],
        "ours": (ours or "")[:300],
    }
    if ours:
        described.update(_largest_differences(_norm(ours), _norm(gold_text)))
    return described


def _written(label: str, caption: str) -> bool:
    """Whether a label appears in the caption as a token of its own, in either case; a lowercase
    ``a`` before a word is the article."""
    for form in {label, label.swapcase()}:
        article = r"(?! [a-z])" if form == "a" else ""
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9]){article}", caption):
            return True
    return False


def _largest_differences(ours: str, gold: str, limit: int = 200) -> dict:
    """The longest stretch of gold text our subcaption lacks, and of ours the gold lacks."""
    missing, extra = "", ""
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ours, gold, autojunk=False).get_opcodes():
        if op in ("insert", "replace") and j2 - j1 > len(missing):
            missing = gold[j1:j2]
        if op in ("delete", "replace") and i2 - i1 > len(extra):
            extra = ours[i1:i2]
    return {"gold_text_we_lack": missing.strip()[:limit], "our_text_gold_lacks": extra.strip()[:limit]}


# Annotation conventions: both zou-shaped sets copy the shared opening sentences into every
# subcaption, but the NLM/zou annotators kept the label marker as written ("(A) Axial CT ...") and
# gave every item of a list its opening ("... of Euhelopus in ventral (D) views"), while the
# prostate annotators removed the marker and cut lists as written ("..., AR staining"). Scoring
# must produce the same convention as the gold; the pipeline writes markers removed, openings shared.
GOLD_FORMATS = {
    "zou": {"keep_label": True, "share_list_heads": True},
    "prostate": {"keep_label": False, "share_list_heads": False},
    "soda": {"keep_label": False, "share_list_heads": True},
}


def detect_format(path: Path) -> str:
    """``soda`` (a folder of manuscripts, or one, with ``figures[].panels``), or for figures keyed
    by name with ``caption`` and ``gt_subfigures``: ``zou`` when most gold subcaptions keep their
    label marker, else ``prostate`` (same shape, markers removed)."""
    path = Path(path)
    if path.is_dir():
        return "soda"
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("figures"), list):
        return "soda"
    if isinstance(data, dict) and data and all(isinstance(v, dict) and "gt_subfigures" in v and "caption" in v for v in data.values()):
        _, items = _gt_items(path)
        return "zou" if _keeps_label_markers(items) else "prostate"
    raise ValueError(f"{path}: neither the zou/prostate format nor SODA")


def _keeps_label_markers(items: list[tuple[str, list[tuple[str, str]]]]) -> bool:
    """Whether most gold subcaptions still hold their own label as a marker: ``(A``, ``A)``, ``A.``."""
    pairs = [(label, text) for _, gold in items for label, text in gold if text]
    kept = sum(bool(re.search(rf"\({re.escape(label)}\b|(?<![\w(]){re.escape(label)}[).:]", text)) for label, text in pairs)
    return kept * 2 > len(pairs)


def load_gold(path: Path, gold_format: str | None = None) -> tuple[str, list[str], list[tuple[str, list[tuple[str, str]]]]]:
    """(format, figure keys, items) for ``score_captions``; ``gold_format`` overrides detection."""
    kind = gold_format or detect_format(path)
    if kind not in GOLD_FORMATS:
        raise ValueError(f"unknown gold format {kind!r}; one of {sorted(GOLD_FORMATS)}")
    if kind == "soda":
        keys, items = _soda_items(Path(path))
    else:
        keys, items = _gt_items(Path(path))
    return kind, keys, items


def score_gold(path: Path, worst: int = 5, gold_format: str | None = None, llm: LlmRoute | None = None) -> dict:
    """The whole set's scores, and under ``parts`` those of its development and check parts
    (``gold_parts``), each with how its captions split when their labels are written another way
    (``marker_forms``)."""
    kind, keys, items = load_gold(path, gold_format)
    parts = {}
    for part in PARTS:
        chosen = [n for n, key in enumerate(keys) if part_of(key) == part]
        parts[part] = score_captions([items[n] for n in chosen], [keys[n] for n in chosen], 0, **GOLD_FORMATS[kind], llm=llm)
        parts[part]["marker_forms"] = marker_form_consistency([items[n][0] for n in chosen], lambda a, b: similarity(_norm(a), _norm(b)))
    return {"format": kind, **score_captions(items, keys, worst, **GOLD_FORMATS[kind], llm=llm), "parts": parts}


def _gt_items(path: Path) -> tuple[list[str], list[tuple[str, list[tuple[str, str]]]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    keys, items = [], []
    for key, entry in data.items():
        gold = [(s["label"]["text"], s.get("caption") or "") for s in entry["gt_subfigures"] if (s.get("label") or {}).get("text")]
        if gold:
            keys.append(key)
            items.append((entry["caption"], gold))
    return keys, items


def _soda_items(path: Path) -> tuple[list[str], list[tuple[str, list[tuple[str, str]]]]]:
    """Every labelled SODA figure counts for labels; the few panels with a curated caption also for text."""
    keys, items = [], []
    for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
        for figure in json.loads(file.read_text(encoding="utf-8")).get("figures", []):
            caption = _soda_text(figure.get("figure_caption") or "")
            title = _soda_text(figure.get("caption_title") or "")
            gold = [(p["panel_label"], p.get("panel_caption") or "") for p in figure.get("panels", []) if p.get("panel_label")]
            if gold and caption:
                keys.append(f"{file.stem}/{figure.get('figure_label')}")
                # The title is a field of its own; a caption reads it as its first sentence.
                if title and not caption.startswith(title):
                    caption = f"{title}{'' if title[-1] in '.!?' else '.'} {caption}"
                items.append((caption, gold))
    return keys, items


def _soda_text(markup: str) -> str:
    """Caption HTML as the text a JATS caption has: tags dropped without leaving ``A , Flow``."""
    text = _norm(html.unescape(re.sub(r"<[^>]+>", " ", markup)))
    return re.sub(r"\s+([,.;:])", r"\1", text)


def evaluate_subcaptions(root: Path = DEFAULT_SUBCAPTION_ROOT, llm: LlmRoute | None = None) -> dict | None:
    """Scores per annotation set found under ``root``; None when the folder is absent."""
    root = Path(root)
    if not root.is_dir():
        return None
    results = {}
    for name, file in (("zou", "zou_eval_dev.json"), ("prostate", "prostate_data_only_annotated_captions.json"), ("soda", "soda")):
        if (root / file).exists():
            # SODA panel captions were rewritten by curators: token F1 is the meaningful number there.
            results[name] = score_gold(root / file, gold_format=name, llm=llm)
    return results
