"""The subfigures/subcaptions stages on table rows, and backend selection."""

import io
import sys
import types

import pyarrow as pa
import pytest
from builders import blocks_figure, context, figure_row
from PIL import Image
from pydantic import ValidationError

from pipeline.demo_corpus.figures import FigurePlan, PanelPlan, draw_figure
from schemas.records import PANEL, SAMPLE
from stages.subcaptions.stage import Subcaptions, SubcaptionsSpec
from stages.subfigures.detector import XYCutSplitter, YoloSplitter, build_splitter
from stages.subfigures.layout import reading_order
from stages.subfigures.stage import Subfigures, SubfiguresSpec

BOXES = [(0, 0, 600, 400), (640, 0, 1240, 400)]


def sample_table(caption: str, mentions=()) -> pa.Table:
    plan = FigurePlan(1240, 400, tuple(PanelPlan(l, b, "histology") for l, b in zip("AB", BOXES)), 0, (1,))
    source = draw_figure(plan)
    normalised = source.copy()
    normalised.thumbnail((620, 620))
    buffer = io.BytesIO()
    normalised.save(buffer, format="JPEG", quality=90)
    row = figure_row(caption=caption, mentions=list(mentions), image=buffer.getvalue(), image_width=normalised.width,
                     image_height=normalised.height, source_width=1240, source_height=400)
    return pa.Table.from_pylist([row], schema=SAMPLE)


def run(table: pa.Table) -> list[dict]:
    split = Subfigures(SubfiguresSpec(), context())(table)
    assert split.schema.equals(PANEL, check_metadata=False)
    return Subcaptions(SubcaptionsSpec(), context())(split).to_pylist()


def test_aligned_figure_becomes_one_sample_per_panel_with_source_boxes():
    rows = run(sample_table("Livers. (A) Control. (B) Mutant.", ["As in Figure 1B, a lobe grew."]))
    assert [r["sample_key"] for r in rows] == ["PMC1v1-f001-p01", "PMC1v1-f001-p02"]
    assert [r["panel_label"] for r in rows] == ["A", "B"]
    assert [r["subcaption"] for r in rows] == ["Livers. Control.", "Livers. Mutant."]
    for row, truth in zip(rows, BOXES):
        assert all(abs(a - b) <= 4 for a, b in zip(row["panel_box"], truth))
        crop = Image.open(io.BytesIO(row["image"]))
        assert (crop.width, crop.height) == (row["image_width"], row["image_height"])
        assert abs(crop.width - 300) <= 3
    assert {r["alignment"] for r in rows} == {"label_order"}


def test_disagreeing_figure_stays_whole_with_its_caption():
    rows = run(sample_table("Livers. (A) Control. (B) Mutant. (C) Other."))
    assert len(rows) == 1
    row = rows[0]
    assert (row["panel_index"], row["sample_key"], row["alignment"]) == (None, "PMC1v1-f001", "none")
    assert row["subcaption"] is None and len(row["panel_boxes"]) == 2


def image_table(image: Image.Image, caption: str) -> pa.Table:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    row = figure_row(caption=caption, image=buffer.getvalue(), image_width=image.width, image_height=image.height,
                     source_width=image.width, source_height=image.height)
    return pa.Table.from_pylist([row], schema=SAMPLE)


def test_the_captions_label_count_chooses_the_layout_and_the_panels_pair_with_its_labels():
    # Three plots, each with its axis title below a white gap: cut freely, six "panels".
    plots = [(10, 10, 190, 170), (230, 10, 410, 170), (450, 10, 630, 170)]
    titles = [(40, 195, 160, 225), (260, 195, 380, 225), (480, 195, 600, 225)]
    rows = run(image_table(blocks_figure(640, 235, plots + titles), "Growth. (A) Liver. (B) Lung. (C) Gut."))
    assert [(r["panel_label"], r["subcaption"], r["alignment"]) for r in rows] == [
        ("A", "Growth. Liver.", "label_order"), ("B", "Growth. Lung.", "label_order"), ("C", "Growth. Gut.", "label_order")
    ]
    assert [r["panel_box"][3] >= 222 for r in rows] == [True] * 3  # each title is in its plot's panel


def test_a_split_less_sure_than_the_threshold_keeps_the_figure_whole():
    # The only layout of three keeps a heading strip as a panel.
    table = image_table(blocks_figure(420, 230, [(10, 10, 410, 34), (10, 70, 200, 220), (220, 70, 410, 220)]), "(A) Title. (B) Left. (C) Right.")
    split = Subfigures(SubfiguresSpec(), context())(table)
    (confidence,) = split.column("split_confidence").to_pylist()
    assert confidence < 0.6
    (whole,) = Subcaptions(SubcaptionsSpec(min_split_confidence=0.6), context())(split).to_pylist()
    assert (whole["alignment"], whole["panel_index"]) == ("none", None)
    assert "confidence" in whole["alignment_detail"]
    panels = Subcaptions(SubcaptionsSpec(min_split_confidence=0.0), context())(split).to_pylist()
    assert [r["panel_label"] for r in panels] == ["A", "B", "C"]


def test_a_caption_split_less_sure_than_the_threshold_keeps_the_figure_whole():
    caption = "Control livers (A) and mutant livers (B) after a week."  # labels after their text, in one sentence
    rows = Subcaptions(SubcaptionsSpec(min_subcaption_confidence=0.7), context())(Subfigures(SubfiguresSpec(), context())(sample_table(caption))).to_pylist()
    (whole,) = rows
    assert whole["alignment"] == "none" and whole["subcaption_confidence"] < 0.7
    assert whole["alignment_detail"].startswith("subcaption confidence") and "labels_after_text" in whole["alignment_detail"]
    panels = Subcaptions(SubcaptionsSpec(min_subcaption_confidence=0.0), context())(Subfigures(SubfiguresSpec(), context())(sample_table(caption))).to_pylist()
    assert [r["panel_label"] for r in panels] == ["A", "B"]
    assert {r["subcaption_confidence"] for r in panels} == {whole["subcaption_confidence"]}
    sure = run(sample_table("Livers. (A) Control. (B) Mutant."))
    assert {r["subcaption_confidence"] for r in sure} == {1.0}


def test_tiny_panels_are_dropped_with_a_reason():
    table = sample_table("Livers. (A) Control. (B) Mutant.")
    rows = Subcaptions(SubcaptionsSpec(min_panel_side=400), context())(Subfigures(SubfiguresSpec(), context())(table)).to_pylist()
    assert {r["drop_reason"] for r in rows} == {"panel_too_small"}


def test_backend_selection_and_lazy_detector(monkeypatch):
    assert isinstance(build_splitter(SubfiguresSpec()), XYCutSplitter)
    with pytest.raises(ValidationError, match="checkpoint"):
        SubfiguresSpec(backend="yolo")
    loaded = []

    class FakeYOLO:
        def __init__(self, path):
            loaded.append(path)

    monkeypatch.setitem(sys.modules, "ultralytics", types.SimpleNamespace(YOLO=FakeYOLO))
    splitter = build_splitter(SubfiguresSpec(backend="yolo", checkpoint="panels.pt"))
    assert isinstance(splitter, YoloSplitter) and loaded == ["panels.pt"]


def test_detector_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    with pytest.raises(RuntimeError, match="detector"):
        build_splitter(SubfiguresSpec(backend="yolo", checkpoint="panels.pt"))


def test_reading_order_of_detector_boxes():
    boxes = [(500, 10, 900, 300), (0, 320, 400, 600), (0, 0, 400, 300), (500, 330, 900, 600)]
    assert reading_order(boxes) == [(0, 0, 400, 300), (500, 10, 900, 300), (0, 320, 400, 600), (500, 330, 900, 600)]


def run_emit(table: pa.Table, emit: str) -> list[dict]:
    return Subcaptions(SubcaptionsSpec(emit=emit), context())(Subfigures(SubfiguresSpec(), context())(table)).to_pylist()


def test_emit_both_yields_the_whole_figure_and_its_panels_under_one_parent_key():
    caption = "Livers. (A) Control. (B) Mutant."
    rows = run_emit(sample_table(caption), "both")
    assert [r["sample_key"] for r in rows] == ["PMC1v1-f001", "PMC1v1-f001-p01", "PMC1v1-f001-p02"]
    assert {r["parent_key"] for r in rows} == {"PMC1v1-f001"}
    whole, *panels = rows
    assert whole["panel_index"] is None and whole["panel_box"] is None and whole["subcaption"] is None
    assert whole["caption"] == caption and whole["alignment"] == "label_order"
    assert (whole["image_width"], whole["image_height"]) == (620, 200)
    assert [p["subcaption"] for p in panels] == ["Livers. Control.", "Livers. Mutant."]
    assert all(p["caption"] == caption and len(p["panel_box"]) == 4 for p in panels)


def test_emit_figures_keeps_aligned_figures_whole_and_default_is_panels():
    rows = run_emit(sample_table("Livers. (A) Control. (B) Mutant."), "figures")
    assert [(r["sample_key"], r["panel_index"], r["parent_key"]) for r in rows] == [("PMC1v1-f001", None, "PMC1v1-f001")]
    assert SubcaptionsSpec().emit == "panels"
    with pytest.raises(ValueError):
        SubcaptionsSpec(emit="all")


def test_whole_figure_rows_name_themselves_as_parent():
    rows = run(sample_table("Livers. (A) Control. (B) Mutant. (C) Other."))
    assert rows[0]["parent_key"] == rows[0]["sample_key"] == "PMC1v1-f001"
