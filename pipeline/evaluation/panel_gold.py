"""Panel splitting measured on real gold boxes by ImageCLEF's own rule (``figcurate eval panels --gold``).

The gold file is ``shared/realdata/panels/gold.json``: per image, the panel boxes in its pixels.
ImageCLEF 2016's compound figure separation tool counts a found box as matching a gold panel when
at least 2/3 of the *found box's* area lies inside that panel; each gold panel takes its best such
box and a box counts once; a figure scores its matches over the larger of the gold and found
counts, and the set scores the mean over figures (how the published 0.85 was measured). IoU >= 0.5
under the same one-to-one matching is reported beside it.

The figures are split once, by a hash of the file name (``gold_parts``), into a development part
(to read) and a check part (only to score); both are reported beside the whole set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.evaluation.evaluate import CONFIDENCE_CURVE, coverage
from pipeline.evaluation.gold_parts import PARTS, part_of
from stages.subfigures.split import Box, SplitParams, match_boxes, split_image

OFFICIAL_SHARE = 2 / 3


def inside_share(found: Box, gold: Box) -> float:
    """Share of the found box's area that lies inside the gold box (ImageCLEF's matching measure):
    ``coverage`` with the roles turned, since that one divides by its second box's area."""
    return coverage(gold, found)


def score_figure(found: list[Box], gold: list[Box], confidence: float = 1.0, agrees: bool = True) -> dict:
    """One figure's matches by both rules; ``confidence`` is the split's, ``agrees`` whether its count
    is the labels' (always, image-only): what decides whether the pipeline would emit its panels."""
    denominator = max(len(gold), len(found)) or 1
    official = len(match_boxes(found, gold, OFFICIAL_SHARE, score=inside_share))
    by_iou = len(match_boxes(found, gold, 0.5))
    return {
        "panels_gold": len(gold),
        "panels_found": len(found),
        "matched": official,
        "matched_iou_0_5": by_iou,
        "imageclef_accuracy": official / denominator,
        "accuracy_iou_0_5": by_iou / denominator,
        "confidence": confidence,
        "agrees": agrees,
    }


def emitted(scores: list[dict], min_confidence: float) -> dict:
    """Precision of the panels that would be emitted (figures cut in more than one, at least this
    sure, and with labels given, cut in as many as the labels) and their yield (right panels over
    the gold panels of compound figures)."""
    kept = [s for s in scores if s["panels_found"] > 1 and s["agrees"] and s["confidence"] >= min_confidence]
    compound_gold = sum(s["panels_gold"] for s in scores if s["panels_gold"] > 1)
    right, boxes = sum(s["matched"] for s in kept), sum(s["panels_found"] for s in kept)
    return {
        "min_confidence": min_confidence,
        "emitted_panels": boxes,
        "emitted_precision": round(right / boxes, 4) if boxes else None,
        "emitted_yield": round(right / compound_gold, 4) if compound_gold else None,
    }


def summarise(scores: list[dict], min_confidence: float = 0.0) -> dict:
    """The set's figures: both accuracies, exact counts, one-panel figures kept whole, and the precision
    of what would be emitted as panels against its yield, at ``min_confidence`` and along a curve."""
    if not scores:
        return {"figures": 0}
    single = [s for s in scores if s["panels_gold"] == 1]
    at_threshold = emitted(scores, min_confidence)
    return {
        "figures": len(scores),
        "panels_gold": sum(s["panels_gold"] for s in scores),
        "panels_found": sum(s["panels_found"] for s in scores),
        "imageclef_accuracy": round(float(np.mean([s["imageclef_accuracy"] for s in scores])), 4),
        "accuracy_iou_0_5": round(float(np.mean([s["accuracy_iou_0_5"] for s in scores])), 4),
        "count_exact": sum(s["panels_found"] == s["panels_gold"] for s in scores),
        "single_figures": len(single),
        "single_kept_whole": sum(s["panels_found"] == 1 for s in single),
        **{key: at_threshold[key] for key in ("emitted_panels", "emitted_precision", "emitted_yield")},
        "emitted_by_confidence": [emitted(scores, threshold) for threshold in CONFIDENCE_CURVE],
    }


def evaluate_gold(gold_file: Path, params: SplitParams = SplitParams(), worst: int = 8, min_confidence: float = 0.5) -> dict:
    """Split every gold figure twice and score both: image-only, and with labels given (the gold
    count of a compound figure standing in for the labels its caption names, as the pipeline gives
    the splitter). Emitted panels count only figures split at least ``min_confidence`` sure (the
    subcaptions stage's ``min_split_confidence``). The images sit in ``images/`` beside the file."""
    gold = json.loads(Path(gold_file).read_text())
    images = Path(gold_file).parent / "images"
    return {
        "gold": str(gold_file),
        "rule": "ImageCLEF 2016: a found box matches a gold panel when >= 2/3 of its area lies inside it; matches / max(gold, found), mean over figures",
        "min_confidence": min_confidence,
        "image_only": _evaluate_mode(gold, images, params, worst, min_confidence, with_labels=False),
        "with_labels": _evaluate_mode(gold, images, params, worst, min_confidence, with_labels=True),
    }


def _evaluate_mode(gold: dict, images: Path, params: SplitParams, worst: int, min_confidence: float, with_labels: bool) -> dict:
    scores, seconds = {}, 0.0
    for name in sorted(gold):
        truth = [tuple(box) for box in gold[name]["boxes"]]
        expected = len(truth) if with_labels else None
        with Image.open(images / name) as image:
            image.load()
            started = time.perf_counter()
            found = split_image(image, params, expected)
            seconds += time.perf_counter() - started
        # The pipeline pairs panels with the caption's labels only when the counts agree; a figure
        # split otherwise stays whole there, so it emits nothing here either.
        agrees = expected is None or len(found.boxes) == expected
        scores[name] = score_figure(found.boxes, truth, found.confidence, agrees)
    cases = sorted(scores.items(), key=lambda item: (item[1]["imageclef_accuracy"], item[0]))
    return {
        "all": summarise(list(scores.values()), min_confidence),
        **{part: summarise([s for name, s in scores.items() if part_of(name) == part], min_confidence) for part in PARTS},
        "figures_per_second": round(len(scores) / seconds, 1) if seconds else None,
        "worst": [
            {"figure": name, "part": part_of(name), **{k: round(v, 3) if isinstance(v, float) else v for k, v in score.items()}}
            for name, score in cases[:worst]
        ],
    }
