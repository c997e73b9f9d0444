"""The figure_type stage on CURATED batches, and the labeller on the demo corpus's captions."""

import pyarrow as pa
import pytest
from builders import context, figure_row

from pipeline.demo_corpus.layout import mentions
from pipeline.demo_corpus.plan import plan_corpus
from pipeline.flow import STAGES
from schemas.keys import sample_key
from schemas.records import CURATED, conform
from stages.figure_type.labeller import label_figure
from stages.figure_type.stage import FigureType, FigureTypeSpec

CAPTION = "Liver injury. (A) H&E staining of liver sections. (B) Axial CT of the abdomen."


def curated(rows: list[dict]) -> pa.Table:
    # from_pylist takes its columns from the first row; give every row every key.
    columns = {key: None for row in rows for key in row}
    return conform(pa.Table.from_pylist([{**columns, **row} for row in rows]), CURATED)


def panel_row(index: int, subcaption: str | None, **overrides) -> dict:
    row = figure_row(caption=CAPTION, **overrides)
    return {**row, "panel_index": index, "sample_key": sample_key("PMC1", 1, 1, index), "subcaption": subcaption}


def run(rows: list[dict], **spec) -> dict[str, dict]:
    out = FigureType(FigureTypeSpec(**spec), context())(curated(rows))
    assert out.schema.equals(CURATED, check_metadata=False)
    return {row["sample_key"]: row for row in out.to_pylist()}


def test_stage_is_registered_optional_with_a_larger_batch():
    assert STAGES["figure_type"] is FigureType
    assert FigureType.optional and FigureType.output_schema is CURATED
    assert FigureTypeSpec().batch_size == 64 and FigureTypeSpec().use_mentions
    assert "mentions" in FigureTypeSpec.model_fields["use_mentions"].description


def test_figures_are_labelled_from_their_caption_and_panels_from_their_subcaption():
    rows = run([
        figure_row(figure_index=2, caption="Western blot of SOX9 in retinal pigment epithelium (RPE) cells."),
        panel_row(1, "Liver injury. H&E staining of liver sections."),
        panel_row(2, "Liver injury. Axial CT of the abdomen."),
    ])
    figure = rows[sample_key("PMC1", 1, 2)]
    assert (figure["figure_type"], figure["figure_type_source"]) == ("gel_blot", "caption")
    assert figure["abbreviations"] == [{"short": "RPE", "long": "retinal pigment epithelium"}]
    panel_a, panel_b = rows[sample_key("PMC1", 1, 1, 1)], rows[sample_key("PMC1", 1, 1, 2)]
    assert (panel_a["figure_type"], panel_b["figure_type"]) == ("histopathology", "radiology.ct")
    assert panel_a["figure_type_source"] == panel_b["figure_type_source"] == "caption"
    assert 0 < panel_a["figure_type_confidence"] <= 1
    assert panel_a["abbreviations"] == []


def test_panel_without_subcaption_falls_back_to_the_caption_and_one_with_a_vague_one_to_context():
    rows = run([panel_row(1, ""), panel_row(2, "Liver injury.")])
    empty, vague = rows[sample_key("PMC1", 1, 1, 1)], rows[sample_key("PMC1", 1, 1, 2)]
    # The caption names H&E and CT equally; the tie goes to the first in taxonomy order.
    assert (empty["figure_type"], empty["figure_type_source"]) == ("radiology.ct", "caption")
    assert (vague["figure_type"], vague["figure_type_source"]) == ("radiology.ct", "caption")  # decided by the figure caption, at context weight
    assert vague["figure_type_confidence"] < empty["figure_type_confidence"]


def test_mentions_are_read_only_when_asked():
    row = figure_row(caption="Loss of SOX9 in knockout cells.", mentions=["Immunoblotting confirmed the loss (Figure 1)."])
    used = run([row])[row["sample_key"]]
    ignored = run([row], use_mentions=False)[row["sample_key"]]
    assert (used["figure_type"], used["figure_type_source"]) == ("gel_blot", "mentions")
    assert (ignored["figure_type"], ignored["figure_type_source"], ignored["figure_type_confidence"]) == ("other", "none", 0.0)


def test_missing_caption_and_mentions_give_other():
    row = figure_row(caption=None, mentions=None)
    out = run([row])[row["sample_key"]]
    assert (out["figure_type"], out["figure_type_source"], out["figure_type_confidence"]) == ("other", "none", 0.0)


def test_dropped_row_passes_through_untouched():
    dropped = figure_row(figure_index=3, caption="Western blot of SOX9.", drop_stage="images",
                         drop_reason="image_decode_error", drop_detail="truncated")
    live = figure_row(figure_index=4, caption="Western blot of SOX9.")
    rows = run([dropped, live])
    assert rows[dropped["sample_key"]] == curated([dropped]).to_pylist()[0]
    assert rows[dropped["sample_key"]]["figure_type"] is None
    assert rows[live["sample_key"]]["figure_type"] == "gel_blot"


# What the demo corpus's painted kinds should be labelled (a radiology panel may be CT or MRI).
DEMO_KINDS = {"fluorescence": "microscopy.fluorescence", "histology": "histopathology", "radiology": "radiology",
              "gel": "gel_blot", "bar_chart": "chart", "line_plot": "chart"}


def demo_single_kind_figures(articles: int = 60, seed: int = 11) -> list[tuple[str, str, list[str]]]:
    """(kind, caption, mentions) of every captioned demo figure whose panels are all of one kind."""
    found = []
    for article in plan_corpus(articles, seed):
        for figure in article.figures:
            kinds = {panel.kind for panel in figure.geometry.panels}
            if figure.has_caption and len(kinds) == 1:
                found.append((kinds.pop(), figure.caption, mentions(article, figure)))
    return found


def test_demo_captions_of_single_kind_figures_get_the_painted_kind():
    figures = demo_single_kind_figures()
    assert {kind for kind, _, _ in figures} == set(DEMO_KINDS)
    wrong = []
    for kind, caption, cited in figures:
        label = label_figure(caption, cited).figure_type
        got = label.split(".")[0] if DEMO_KINDS[kind] == "radiology" else label
        if got != DEMO_KINDS[kind]:
            wrong.append((kind, label, caption))
    # The demo adds a kind-blind title ("Quantification of ...") and statistics sentence to any
    # figure; only captions carrying that boilerplate may read as a chart.
    assert all("mean ± SEM" in caption and label == "chart" for _, label, caption in wrong), wrong
    assert len(wrong) <= 0.05 * len(figures)


@pytest.mark.parametrize("kind", sorted(DEMO_KINDS))
def test_each_demo_kind_alone_without_boilerplate_is_labelled_from_the_caption(kind):
    captions = [c for k, c, _ in demo_single_kind_figures() if k == kind and "±" not in c]
    assert captions
    for caption in captions:
        label = label_figure(caption)
        assert label.source == "caption" and label.figure_type.startswith(DEMO_KINDS[kind]), caption
