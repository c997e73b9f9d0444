"""Panel splitting scored on gold boxes by ImageCLEF's own rule."""

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.evaluation.evaluate import REALDATA_ROOT
from pipeline.evaluation.gold_parts import PARTS, part_of
from pipeline.evaluation.panel_gold import emitted, evaluate_gold, inside_share, score_figure

REAL_GOLD = REALDATA_ROOT / "panels" / "gold.json"


def test_the_rule_measures_the_found_box_inside_the_gold_panel_not_the_panel_covered():
    gold = (0, 0, 100, 100)
    assert inside_share((10, 10, 50, 50), gold) == 1.0  # a piece of the panel lies wholly inside it
    assert inside_share((0, 0, 100, 160), gold) == pytest.approx(0.625)  # covers the panel, but too much else
    assert score_figure([(0, 0, 100, 160)], [gold])["imageclef_accuracy"] == 0  # below 2/3: no match
    assert score_figure([(0, 0, 100, 140)], [gold])["imageclef_accuracy"] == 1  # 0.71 of it inside


def test_a_figure_scores_its_matches_over_the_larger_count_and_a_box_counts_once():
    gold = [(0, 0, 100, 100), (110, 0, 210, 100)]
    over_cut = [(0, 0, 33, 100), (33, 0, 66, 100), (66, 0, 100, 100), (110, 0, 210, 100)]  # the left panel in thirds
    score = score_figure(over_cut, gold)
    assert (score["matched"], score["imageclef_accuracy"]) == (2, 0.5)  # a third stands for the left panel, once
    assert score["accuracy_iou_0_5"] == 0.25  # no third has IoU >= 0.5 with it
    assert score_figure([(0, 0, 210, 100)], gold)["matched"] == 0  # one box over both panels matches neither


def write_gold(folder):
    """Two generated figures: two dark panels apart on white, and one textured picture."""
    images = folder / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    two = np.full((200, 420, 3), 255, np.uint8)
    two[20:180, 20:200] = rng.integers(0, 120, (160, 180, 3))
    two[20:180, 240:400] = rng.integers(0, 120, (160, 160, 3))
    Image.fromarray(two).save(images / "two.png")
    Image.fromarray(rng.integers(0, 255, (150, 150, 3)).astype(np.uint8)).save(images / "one.png")
    gold = {
        "two.png": {"panels": 2, "boxes": [[20, 20, 200, 180], [240, 20, 400, 180]]},
        "one.png": {"panels": 1, "boxes": [[0, 0, 150, 150]]},
    }
    (folder / "gold.json").write_text(json.dumps(gold))
    return folder / "gold.json"


def test_a_gold_set_is_scored_whole_and_in_its_two_fixed_parts_image_only_and_with_labels(tmp_path):
    result = evaluate_gold(write_gold(tmp_path))
    for mode in ("image_only", "with_labels"):
        whole = result[mode]["all"]
        assert (whole["figures"], whole["panels_gold"], whole["panels_found"]) == (2, 3, 3)
        assert whole["imageclef_accuracy"] == whole["accuracy_iou_0_5"] == 1.0
        assert (whole["count_exact"], whole["single_figures"], whole["single_kept_whole"]) == (2, 1, 1)
        assert (whole["emitted_panels"], whole["emitted_precision"], whole["emitted_yield"]) == (2, 1.0, 1.0)
        assert [point["min_confidence"] for point in whole["emitted_by_confidence"]] == [0.0, 0.25, 0.5, 0.75, 0.9]
        assert sum(result[mode][part]["figures"] for part in PARTS) == 2
    assert {part_of("two.png"), part_of("one.png")} <= set(PARTS) and part_of("two.png") == part_of("two.png")


def test_emitted_panels_count_only_figures_split_at_least_as_sure_as_the_threshold():
    gold = [(0, 0, 100, 100), (110, 0, 210, 100)]
    sure = score_figure(gold, gold, confidence=0.9)
    unsure = score_figure([(0, 0, 50, 100), (50, 0, 210, 100)], gold, confidence=0.3)  # one right, one wrong
    assert emitted([sure, unsure], 0.0) == {"min_confidence": 0.0, "emitted_panels": 4, "emitted_precision": 0.75, "emitted_yield": 0.75}
    assert emitted([sure, unsure], 0.5) == {"min_confidence": 0.5, "emitted_panels": 2, "emitted_precision": 1.0, "emitted_yield": 0.5}


@pytest.mark.skipif(not REAL_GOLD.is_file(), reason="../shared/realdata/panels is not present")
def test_the_real_development_gold_is_scored(capsys):
    assert main(["eval", "panels", "--gold", str(REAL_GOLD)]) == 0
    result = json.loads(capsys.readouterr().out)
    image_only, with_labels = result["image_only"], result["with_labels"]
    assert image_only["all"]["figures"] == image_only["development"]["figures"] + image_only["check"]["figures"] >= 27
    assert image_only["all"]["panels_gold"] >= 157
    assert 0 <= image_only["all"]["imageclef_accuracy"] <= 1 and image_only["worst"]
    # The count the caption names steers the layout: more figures get their panel count exactly.
    assert with_labels["all"]["count_exact"] > image_only["all"]["count_exact"]
    assert with_labels["all"]["single_kept_whole"] == with_labels["all"]["single_figures"]


def test_a_missing_gold_file_is_a_clear_error(tmp_path, capsys):
    assert main(["eval", "panels", "--gold", str(tmp_path / "gold.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "panels"]) == 2
    assert "give a demo corpus or --gold FILE" in capsys.readouterr().err
