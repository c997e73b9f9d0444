import json
from pathlib import Path

import pytest

from pipeline.evaluation.evaluate import (
    coverage,
    detect_format,
    emitted_subcaptions,
    evaluate_panels,
    imageclef_accuracy,
    load_gold,
    score_captions,
    score_gold,
)

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata" / "subcaptions"


def test_imageclef_counts_a_panel_found_when_two_thirds_covered():
    truth = [(0, 0, 100, 100), (100, 0, 200, 100)]
    assert coverage((0, 0, 70, 100), truth[0]) == pytest.approx(0.7)
    assert imageclef_accuracy([(0, 0, 70, 100), (100, 0, 200, 100)], truth) == 1.0
    assert imageclef_accuracy([(0, 0, 60, 100), (100, 0, 200, 100)], truth) == 0.5
    # one box over both panels finds only one of them; extra boxes lower the score
    assert imageclef_accuracy([(0, 0, 200, 100)], truth) == 0.5
    assert imageclef_accuracy(truth + [(0, 100, 10, 110)], truth) == pytest.approx(2 / 3)


def test_panels_meet_the_issue_targets_on_a_fresh_generated_corpus(tmp_path):
    from pipeline.demo_corpus import generate_corpus

    generate_corpus(tmp_path, articles=40, seed=23)  # a seed no rule was tuned on
    result = evaluate_panels(tmp_path)
    assert result["figures"] > 60 and result["single_figures"] > 10 and result["compound_figures"] > 30
    assert result["imageclef_accuracy"] >= 0.90
    assert result["single_kept_whole"] >= 0.95
    assert result["precision"] >= 0.9 and result["recall"] >= 0.9


def test_score_captions_averages_per_label_and_per_figure_and_names_the_worst():
    items = [
        ("Title. (A) one. (B) two.", [("A", "Title. one."), ("B", "Title. two.")]),
        ("Views A and B of one cell.", [("A", "Views of one cell.")]),
        ("One cell only.", [("A", "One cell only.")]),
    ]
    result = score_captions(items, ["good", "bad", "image only"])
    # a label the caption never names is scored with what the caption says of every panel:
    # the whole caption here, 18/26 alike for "bad" and identical for "image only"
    views = 1 - 8 / 26
    assert result["mean_levenshtein_similarity"] == pytest.approx((3 + views) / 4, abs=1e-3)
    assert result["mean_levenshtein_similarity_per_figure"] == pytest.approx((2 + views) / 3, abs=1e-3)
    # compound-figure-separator's scoring gives such labels nothing
    assert result["mean_levenshtein_similarity_unnamed_as_zero"] == pytest.approx(2 / 4, abs=1e-3)
    assert [w["figure"] for w in result["worst"]] == ["bad", "good", "image only"]
    assert result["worst"][0]["problem"] == "no labels found in the caption"
    assert result["worst"][2]["problem"] == "gold labels never written in the caption (image only): ['a']"


def test_gold_format_is_detected(tmp_path):
    zou = tmp_path / "zou.json"
    zou.write_text(json.dumps({"f1.jpg": {"caption": "T. (A) x. (B) y.", "gt_subfigures": [
        {"label": {"text": "A"}, "caption": "T. (A) x."}, {"label": {"text": "B"}, "caption": "T. (B) y."}]}}))
    prostate = tmp_path / "prostate.json"
    prostate.write_text(json.dumps({"f1.jpg": {"caption": "T. (A) x. (B) y.", "gt_subfigures": [
        {"label": {"text": "A"}, "caption": "T. x."}, {"label": {"text": "B"}, "caption": "T. y."}]}}))
    soda = tmp_path / "soda.json"
    soda.write_text(json.dumps({"figures": [{"figure_label": "Figure 1", "figure_caption": "<p><strong>A</strong>, x. <strong>B</strong>, y.</p>",
                                              "panels": [{"panel_label": "A", "panel_caption": ""}, {"panel_label": "B", "panel_caption": ""}]}]}))
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    assert detect_format(zou) == "zou" and detect_format(prostate) == "prostate" and detect_format(soda) == "soda"
    with pytest.raises(ValueError):
        detect_format(other)
    # each convention scores 1.0 against its own gold, and less when forced to the other one
    assert score_gold(zou)["mean_levenshtein_similarity"] == 1.0
    assert score_gold(prostate)["mean_levenshtein_similarity"] == 1.0
    assert score_gold(zou, gold_format="prostate")["mean_levenshtein_similarity"] < 1.0
    labels_only = score_gold(soda)
    assert labels_only["gold_subcaptions"] == 0 and labels_only["label_recall"] == 1.0


@pytest.mark.skipif(not (SHARED / "prostate_data_only_annotated_captions.json").is_file(), reason="real subcaption annotations absent")
def test_the_caption_confidence_curve_keeps_the_sure_figures_and_says_how_right_they_are():
    sure = [(1.0, [0.9, 1.0]), (0.55, [0.5, 0.7]), (0.2, [0.85])]
    assert emitted_subcaptions(sure, 0.0) == {"min_confidence": 0.0, "figures_split_share": 1.0, "mean_levenshtein_similarity": 0.79, "right_share": 0.6}
    assert emitted_subcaptions(sure, 0.75) == {"min_confidence": 0.75, "figures_split_share": 0.3333, "mean_levenshtein_similarity": 0.95, "right_share": 1.0}
    result = score_captions([
        ("Title. (A) one. (B) two.", [("A", "Title. one."), ("B", "Title. two.")]),
        ("(A) Liver. (B) Lung. (D) Gut.", [("A", "Liver."), ("B", "Lung."), ("C", "Heart."), ("D", "Gut.")]),
    ])
    curve = {point["min_confidence"]: point for point in result["emitted_by_confidence"]}
    assert curve[0.0]["figures_split_share"] == 1.0 and curve[0.5]["figures_split_share"] == 0.5  # the broken run is unsure
    assert curve[0.5]["right_share"] == 1.0 > curve[0.0]["right_share"]


def test_real_prostate_similarity_does_not_regress():
    result = score_gold(SHARED / "prostate_data_only_annotated_captions.json")
    assert result["figures"] == 196
    assert result["mean_levenshtein_similarity"] >= 0.90  # the issue's target
    assert len(result["worst"]) == 5
    parts = result["parts"]
    assert parts["development"]["figures"] + parts["check"]["figures"] == 196
    assert parts["development"]["gold_subcaptions"] + parts["check"]["gold_subcaptions"] == result["gold_subcaptions"]
    assert min(parts["development"]["figures"], parts["check"]["figures"]) > 196 // 3  # about half each


@pytest.mark.skipif(not (SHARED / "zou_eval_dev.json").is_file(), reason="real subcaption annotations absent")
def test_real_zou_similarity_does_not_regress():
    result = score_gold(SHARED / "zou_eval_dev.json")
    assert result["format"] == "zou" and result["figures"] == 224
    assert result["mean_levenshtein_similarity"] >= 0.90  # the issue's target
    # labels printed only on the image scored 0 (compound-figure-separator's scoring)
    assert result["mean_levenshtein_similarity_unnamed_as_zero"] >= 0.84


def test_soda_caption_html_reads_like_a_caption(tmp_path):
    soda = tmp_path / "soda.json"
    soda.write_text(json.dumps({"figures": [{"figure_label": "Figure 1", "caption_title": "Flow responses",
                                              "figure_caption": "<p><strong>A</strong> , Alignment. <strong>B</strong> , Activation.</p>",
                                              "panels": [{"panel_label": "A", "panel_caption": ""}, {"panel_label": "B", "panel_caption": ""}]}]}))
    _, _, items = load_gold(soda)
    assert items[0][0] == "Flow responses. A, Alignment. B, Activation."


def test_every_fifth_figure_is_scored_apart_and_worst_cases_show_the_text_difference():
    items = [(f"Title {n}. (A) one. (B) two.", [("A", f"Title {n}. one."), ("B", f"Title {n}. two. Extra words.")]) for n in range(5)]
    result = score_captions(items, [str(n) for n in range(5)], worst=1)
    assert result["held_out_every_5th_figure"]["gold_subcaptions"] == 2
    assert result["rest"]["gold_subcaptions"] == 8
    assert result["worst"][0]["gold_text_we_lack"] == "Extra words."


def test_a_gold_item_belongs_to_one_fixed_part_by_its_key():
    from pipeline.evaluation.gold_parts import PARTS, part_of

    keys = [f"PMC{n}_F{n % 7}" for n in range(400)]
    parts = [part_of(key) for key in keys]
    assert parts == [part_of(key) for key in keys] and set(parts) == set(PARTS)
    assert 150 < parts.count("check") < 250
