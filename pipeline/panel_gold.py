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

from pipeline.evaluate import coverage
from pipeline.gold_parts import PARTS, part_of
from stages.subfigures.split import Box, SplitParams, match_boxes, split_image

OFFICIAL_SHARE = 2 / 3


def inside_share(found: Box, gold: Box) -> float:
    """Share of the found box's area that lies inside the gold box (ImageCLEF's matching measure):
    ``coverage`` with the roles turned, since that one divides by its second box's area."""
    return coverage(gold, found)


def score_figure(found: list[Box], gold: list[Box]) -> dict:
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
    }


def summarise(scores: list[dict]) -> dict:
    """The set's figures: both accuracies, exact counts, one-panel figures kept whole, and the precision
    of what would be emitted as panels (boxes of figures cut in more than one) against its yield."""
    if not scores:
        return {"figures": 0}
    single = [s for s in scores if s["panels_gold"] == 1]
    emitted = [s for s in scores if s["panels_found"] > 1]
    compound_gold = sum(s["panels_gold"] for s in scores if s["panels_gold"] > 1)
    emitted_right = sum(s["matched"] for s in emitted)
    emitted_boxes = sum(s["panels_found"] for s in emitted)
    return {
        "figures": len(scores),
        "panels_gold": sum(s["panels_gold"] for s in scores),
        "panels_found": sum(s["panels_found"] for s in scores),
        "imageclef_accuracy": round(float(np.mean([s["imageclef_accuracy"] for s in scores])), 4),
        "accuracy_iou_0_5": round(float(np.mean([s["accuracy_iou_0_5"] for s in scores])), 4),
        "count_exact": sum(s["panels_found"] == s["panels_gold"] for s in scores),
        "single_figures": len(single),
        "single_kept_whole": sum(s["panels_found"] == 1 for s in single),
        "emitted_panels": emitted_boxes,
        "emitted_precision": round(emitted_right / emitted_boxes, 4) if emitted_boxes else None,
        "emitted_yield": round(emitted_right / compound_gold, 4) if compound_gold else None,
    }


def evaluate_gold(gold_file: Path, params: SplitParams = SplitParams(), worst: int = 8) -> dict:
    """Split every gold figure image-only and score it; the images sit in ``images/`` beside the file."""
    gold = json.loads(Path(gold_file).read_text())
    images = Path(gold_file).parent / "images"
    scores, seconds = {}, 0.0
    for name in sorted(gold):
        with Image.open(images / name) as image:
            image.load()
            started = time.perf_counter()
            found = split_image(image, params).boxes
            seconds += time.perf_counter() - started
        scores[name] = score_figure(found, [tuple(box) for box in gold[name]["boxes"]])
    cases = sorted(scores.items(), key=lambda item: (item[1]["imageclef_accuracy"], item[0]))
    return {
        "gold": str(gold_file),
        "rule": "ImageCLEF 2016: a found box matches a gold panel when >= 2/3 of its area lies inside it; matches / max(gold, found), mean over figures",
        "all": summarise(list(scores.values())),
        **{part: summarise([s for name, s in scores.items() if part_of(name) == part]) for part in PARTS},
        "figures_per_second": round(len(scores) / seconds, 1) if seconds else None,
        "worst": [
            {"figure": name, "part": part_of(name), **{k: round(v, 3) if isinstance(v, float) else v for k, v in score.items()}}
            for name, score in cases[:worst]
        ],
    }
