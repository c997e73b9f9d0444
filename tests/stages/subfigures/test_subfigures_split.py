"""Panel splitting on figures drawn in code with known boxes."""

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.demo_corpus.figures import (
    FigurePlan,
    PanelPlan,
    draw_figure,
    plan_compound,
    plan_single,
)
from pipeline.demo_corpus.painters import paint_bar_chart, paint_line_plot
from stages.subfigures.split import SplitParams, iou, match_boxes, split_image


def _plan(boxes, kinds, frame=0, size=None, labels=True):
    width = size[0] if size else max(b[2] for b in boxes)
    height = size[1] if size else max(b[3] for b in boxes)
    panels = tuple(PanelPlan(chr(65 + i) if labels else None, b, k) for i, (b, k) in enumerate(zip(boxes, kinds)))
    return FigurePlan(width, height, panels, frame, (1, 2, 3))


def test_two_by_two_grid_in_reading_order():
    boxes = [(0, 0, 300, 200), (320, 0, 620, 200), (0, 220, 300, 420), (320, 220, 620, 420)]
    image = draw_figure(_plan(boxes, ["histology", "fluorescence", "gel", "radiology"]))
    result = split_image(image)
    assert len(result.boxes) == 4
    assert [iou(p, t) for p, t in zip(result.boxes, boxes)] == pytest.approx([1, 1, 1, 1], abs=0.05)
    assert result.confidence > 0.8


def test_framed_panels_with_thin_gutters():
    boxes = [(3, 3, 400, 300), (406, 3, 800, 300), (809, 3, 1200, 300)]
    image = draw_figure(_plan(boxes, ["fluorescence", "radiology", "histology"], frame=3, size=(1203, 303)))
    result = split_image(image)
    assert len(match_boxes(result.boxes, boxes, 0.9)) == 3 and len(result.boxes) == 3


@pytest.mark.parametrize("painter", [paint_bar_chart, paint_line_plot])
def test_a_plot_with_white_space_inside_stays_whole(painter):
    image = painter(np.random.default_rng(4), 900, 600)
    result = split_image(image)
    # Whole means the whole image, white margins included, as the pipeline emits it.
    assert result.boxes == [(0, 0, 900, 600)]


def test_plots_side_by_side_keep_their_tick_labels_and_letters():
    boxes = [(0, 0, 500, 400), (530, 0, 1030, 400)]
    image = draw_figure(_plan(boxes, ["bar_chart", "bar_chart"]))
    result = split_image(image)
    assert len(result.boxes) == 2
    assert result.merged_fragments >= 1  # tick-label columns were cut off, then merged back
    assert all(iou(p, t) > 0.6 for p, t in zip(result.boxes, boxes))


def test_label_outside_panel_kept_with_it_and_specks_merged():
    image = Image.new("RGB", (800, 400), "white")
    draw = ImageDraw.Draw(image)
    for x0, letter in ((0, "A"), (420, "B")):
        draw.text((x0 + 2, 0), letter, fill="black", font_size=24)  # letter above its panel
        image.paste((120, 60, 160), (x0, 40, x0 + 380, 400))
    draw.point((790, 5), fill="black")  # a stray speck in a corner
    result = split_image(image)
    assert len(result.boxes) == 2
    assert result.boxes[0][1] < 20 and result.boxes[0][0] == 0  # the letter above panel A (which starts at y=40) is in its box
    assert iou(result.boxes[1], (420, 0, 800, 400)) > 0.85


def test_boxes_map_back_to_source_size_from_the_work_image():
    boxes = [(0, 0, 1000, 700), (1040, 0, 2040, 700)]
    image = draw_figure(_plan(boxes, ["histology", "gel"]))
    result = split_image(image, SplitParams(work_side=400))
    assert len(result.boxes) == 2 and all(iou(p, t) > 0.97 for p, t in zip(result.boxes, boxes))


def test_generated_demo_figures_f1():
    rng = random.Random(11)
    tp = predicted = true = singles_whole = 0
    for n in range(30):
        plan = plan_compound(rng, (5, n)) if n % 3 else plan_single(rng, (5, n))
        result = split_image(draw_figure(plan))
        truth = [p.box for p in plan.panels]
        tp += len(match_boxes(result.boxes, truth))
        predicted, true = predicted + len(result.boxes), true + len(truth)
        singles_whole += (not plan.compound) and len(result.boxes) == 1
    assert tp / predicted > 0.95 and tp / true > 0.95
    assert singles_whole == 10


def test_gutters_are_light_lines_closed_by_ink():
    from stages.subfigures.split import _Splitter

    grey = np.full((100, 80), 30, np.uint8)  # ink everywhere but:
    grey[:6] = 255  # a top margin: a run from the edge that ink closes
    grey[20:30] = 255  # a gutter
    grey[50:60] = 250
    grey[50:60, 40] = 100  # light on average, but a line darker than line_min_level runs through
    grey[70:80] = 235  # no dark pixel, but grey on average
    grey[90:] = 255  # a bottom margin reaching the far edge: no gutter
    runs = _Splitter(grey, SplitParams()).gutters((0, 0, 80, 100), axis=0)
    assert runs == [(0, 6), (20, 30)]
    assert _Splitter(grey.T.copy(), SplitParams()).gutters((0, 0, 100, 80), axis=1) == runs


def test_the_free_split_is_made_once_and_counts_its_merges_once():
    from stages.subfigures.split import _Splitter, grey_array

    image = draw_figure(_plan([(0, 0, 500, 400), (530, 0, 1030, 400)], ["bar_chart", "bar_chart"], labels=False))
    grey, _ = grey_array(image, 1024)
    splitter = _Splitter(grey, SplitParams())
    content = splitter.trim((0, 0, splitter.width, splitter.height))
    first = splitter.free_split(content)
    merged = splitter.merged
    assert merged >= 1  # tick-label columns cut off, then merged back
    assert splitter.free_split(content) == first and splitter.merged == merged
