"""Measure panel splitting against a demo corpus's truth and subcaption splitting against real annotations.

``evaluate_panels`` matches predicted to true boxes one-to-one at IoU >= 0.5 (greedy, highest IoU
first) and reports precision, recall and F1 over all panels, plus how often a one-picture figure
is kept whole. ``evaluate_subcaptions`` scores split captions against human annotations: per
gold label, the normalised Levenshtein similarity of our subcaption to the gold one (0 when we
produce none; the metric of compound-figure-separator), token F1 (MedICaT style), and label F1.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from stages.subcaptions.split import split_caption
from stages.subfigures.split import SplitParams, match_boxes, split_image

DEFAULT_SUBCAPTION_ROOT = Path("/work/shared/realdata/subcaptions")


def evaluate_panels(corpus: Path, *, limit: int | None = None, params: SplitParams = SplitParams(), threshold: float = 0.5) -> dict:
    from pipeline.demo_corpus import load_truth

    _, figures = load_truth(corpus)
    figures = [f for f in figures if f["width"] and not f["expected_drop"]][:limit]
    tp = fp = fn = 0
    single = single_whole = compound = compound_count = 0
    seconds = 0.0
    for figure in figures:
        with Image.open(Path(corpus) / f"{figure['pmcid']}.{figure['version']}" / figure["media_name"]) as image:
            image.load()
            started = time.perf_counter()
            result = split_image(image, params)
            seconds += time.perf_counter() - started
        truth = [tuple(p["box"]) for p in figure["panels"]]
        matched = len(match_boxes(result.boxes, truth, threshold))
        tp, fp, fn = tp + matched, fp + len(result.boxes) - matched, fn + len(truth) - matched
        if figure["compound"]:
            compound += 1
            compound_count += len(result.boxes) == len(truth)
        else:
            single += 1
            single_whole += len(result.boxes) == 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "figures": len(figures),
        "panels_true": tp + fn,
        "panels_predicted": tp + fp,
        "iou_threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "single_figures": single,
        "single_kept_whole": round(single_whole / single, 4) if single else None,
        "compound_figures": compound,
        "compound_count_exact": round(compound_count / compound, 4) if compound else None,
        "split_seconds": round(seconds, 3),
        "figures_per_second": round(len(figures) / seconds, 1) if seconds else None,
    }


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


def score_captions(items: list[tuple[str, list[tuple[str, str]]]]) -> dict:
    """``items``: (caption, [(gold label, gold subcaption), ...]) per figure."""
    similarities, f1s = [], []
    label_tp = label_fp = label_fn = 0
    exact_labels = 0
    for caption, gold in items:
        split = split_caption(caption)
        predicted = {label.lower(): label for label in split.labels()}
        gold_labels = {label.lower() for label, _ in gold}
        label_tp += len(gold_labels & set(predicted))
        label_fp += len(set(predicted) - gold_labels)
        label_fn += len(gold_labels - set(predicted))
        exact_labels += gold_labels == set(predicted)
        for label, text in gold:
            ours = split.subcaption(predicted[label.lower()]) if label.lower() in predicted else None
            similarities.append(similarity(_norm(ours), _norm(text)) if ours is not None else 0.0)
            f1s.append(token_f1(ours, text) if ours is not None else 0.0)
    precision = label_tp / (label_tp + label_fp) if label_tp + label_fp else 0.0
    recall = label_tp / (label_tp + label_fn) if label_tp + label_fn else 0.0
    return {
        "figures": len(items),
        "gold_subcaptions": len(similarities),
        "mean_levenshtein_similarity": round(float(np.mean(similarities)), 4) if similarities else None,
        "mean_token_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "label_precision": round(precision, 4),
        "label_recall": round(recall, 4),
        "label_sets_exact": round(exact_labels / len(items), 4) if items else None,
    }


def _gt_items(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for entry in data.values():
        gold = [(s["label"]["text"], s["caption"]) for s in entry["gt_subfigures"] if s.get("label", {}).get("text")]
        if gold:
            items.append((entry["caption"], gold))
    return items


def _soda_items(folder: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    items = []
    for path in sorted(folder.glob("*.json")):
        for figure in json.loads(path.read_text(encoding="utf-8")).get("figures", []):
            caption = re.sub(r"<[^>]+>", " ", figure.get("figure_caption") or "")
            title = figure.get("caption_title") or ""
            gold = [(p["panel_label"], p["panel_caption"]) for p in figure.get("panels", []) if p.get("panel_label") and p.get("panel_caption")]
            if gold and caption.strip():
                items.append((_norm(f"{title} {caption}"), gold))
    return items


def evaluate_subcaptions(root: Path = DEFAULT_SUBCAPTION_ROOT) -> dict | None:
    """Scores per annotation set found under ``root``; None when the folder is absent."""
    root = Path(root)
    if not root.is_dir():
        return None
    results = {}
    for name, file in (("zou", "zou_eval_dev.json"), ("prostate", "prostate_data_only_annotated_captions.json")):
        if (root / file).is_file():
            results[name] = score_captions(_gt_items(root / file))
    if (root / "soda").is_dir():
        # SODA panel captions were rewritten by curators: token F1 is the meaningful number there.
        results["soda"] = score_captions(_soda_items(root / "soda"))
    return results
