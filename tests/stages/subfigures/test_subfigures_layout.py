"""The layout with the count the caption names, chosen among the cuts the gutters allow."""

import gc

import pytest
from builders import blocks_figure as figure

from stages.subfigures import layout
from stages.subfigures.split import SplitParams, _Splitter, grey_array, iou, split_image


# Three plots in a row; below each, after a white gap, its own axis title, which the free split
# cuts off as panels of their own.
PLOTS = [(10, 10, 190, 170), (230, 10, 410, 170), (450, 10, 630, 170)]
TITLES = [(40, 195, 160, 225), (260, 195, 380, 225), (480, 195, 600, 225)]


def test_axis_titles_cut_off_by_the_free_split_join_their_plots_when_the_caption_names_three():
    image = figure(640, 235, PLOTS + TITLES)
    grey, _ = grey_array(image, 1024)
    splitter = _Splitter(grey, SplitParams())
    assert len(splitter.split(splitter.trim((0, 0, 640, 235)))) == 6  # the free split: every title a "panel"
    # no letters, and title strips far below a sixth of the figure: without a count, one picture
    assert split_image(image).boxes == [(0, 0, 640, 235)]
    result = split_image(image, panels=3)
    assert len(result.boxes) == 3
    for box, plot, title in zip(result.boxes, PLOTS, TITLES):
        assert box[:2] == pytest.approx(plot[:2], abs=2) and box[2] == pytest.approx(plot[2], abs=2)
        assert box[3] == pytest.approx(title[3], abs=2)  # the title is in its plot's box
    assert result.confidence == 1.0


def test_the_count_decides_which_gutters_are_cut_and_the_widest_go_first():
    # A 2x2 grid: rows 60 px apart, columns only 8.
    blocks = [(0, 0, 200, 150), (208, 0, 408, 150), (0, 210, 200, 360), (208, 210, 408, 360)]
    image = figure(408, 360, blocks)
    two = split_image(image, panels=2).boxes
    assert [iou(a, b) for a, b in zip(two, [(0, 0, 408, 150), (0, 210, 408, 360)])] == pytest.approx([1, 1], abs=0.02)
    four = split_image(image, panels=4).boxes
    assert [iou(a, b) for a, b in zip(four, blocks)] == pytest.approx([1, 1, 1, 1], abs=0.02)  # reading order


def test_a_count_no_layout_has_leaves_the_free_split_and_one_panel_is_the_whole_figure():
    image = figure(300, 200, [(20, 20, 130, 180), (170, 20, 280, 180)])
    free = split_image(image).boxes
    assert len(free) == 2
    assert split_image(image, panels=5).boxes == free
    whole = split_image(image, panels=1)
    assert (whole.boxes, whole.confidence) == ([(0, 0, 300, 200)], 1.0)


def test_a_layout_that_must_keep_a_thin_strip_as_a_panel_is_unsure():
    # A heading strip above two plots, and a caption naming three panels: the only layout of three
    # keeps the heading as one, which the confidence says.
    blocks = [(10, 10, 410, 34), (10, 70, 200, 220), (220, 70, 410, 220)]
    image = figure(420, 230, blocks)
    result = split_image(image, panels=3)
    assert [iou(a, b) for a, b in zip(result.boxes, blocks)] == pytest.approx([1, 1, 1], abs=0.02)
    assert result.confidence < 0.6
    assert split_image(figure(420, 230, blocks[1:]), panels=2).confidence == 1.0


def test_a_search_too_large_gives_up_and_the_free_split_stands(monkeypatch):
    blocks = [(x, y, x + 100, y + 100) for y in range(0, 672, 112) for x in range(0, 672, 112)]  # 6x6 grid
    image = figure(660, 660, blocks)
    assert len(split_image(image).boxes) == 36
    monkeypatch.setattr(layout, "SEARCH_BUDGET", 50)
    assert len(split_image(image, panels=12).boxes) == 36
    monkeypatch.undo()
    assert len(split_image(image, panels=6).boxes) == 6  # within the budget


def test_no_search_outlives_its_figure():
    # A worker splits figure after figure: a cache on the class would keep every figure's arrays alive.
    image = figure(420, 230, [(10, 10, 410, 34), (10, 70, 200, 220), (220, 70, 410, 220)])
    for _ in range(3):
        split_image(image, panels=3)
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, layout.LayoutSearch)]


def test_a_layout_joining_across_a_gutter_wider_than_one_it_cuts_is_unsure():
    # Three blocks in a row: 30 px, then 6 px apart.
    blocks = [(0, 0, 100, 100), (130, 0, 230, 100), (236, 0, 336, 100)]
    grey, _ = grey_array(figure(336, 100, blocks), 1024)
    splitter = _Splitter(grey, SplitParams())
    search = layout.LayoutSearch(splitter.pieces, splitter.cuttable, splitter.min_gap)
    shown = [blocks[0], layout.union(blocks[1:])]  # cut at the wide gutter, joined across the narrow one
    forced = [layout.union(blocks[:2]), blocks[2]]  # joined across the wide gutter, cut at the narrow one
    assert search.gutter_confidence(shown) == 1.0
    assert search.gutter_confidence(forced) == pytest.approx(6 / 30)
    assert search.gutter_confidence(blocks) == 1.0  # nothing joined
    assert split_image(figure(336, 100, blocks), panels=2).confidence == 1.0  # the search takes the layout shown
