"""Stage ``figure_type``: a figure-type label per sample from its caption words and the article's mentions.

A panel is labelled from its subcaption, with the figure caption as context; a whole figure from
its caption. The in-text mention sentences join the context when ``use_mentions`` is on. How the
label, its source and confidence are decided: ``stages.figure_type.labeller``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from schemas.records import CURATED
from stages.figure_type.labeller import label_figure, make_nlp
from stages.runtime.base import Row, Stage, StageSpec
from stages.runtime.context import StageContext


class FigureTypeSpec(StageSpec):
    batch_size: int = Field(64, ge=1, description="rows per batch handed to the callable (labelling is ~ms per row)")
    use_mentions: bool = Field(
        True,
        description="also read the article's sentences that cite the figure, at half the weight of the "
        "caption; a label decided by them alone has source 'mentions'",
    )


class FigureType(Stage):
    name = "figure_type"
    spec_type = FigureTypeSpec
    output_schema = CURATED
    optional = True
    reads = ("caption", "subcaption", "panel_index", "mentions")

    def __init__(self, spec: FigureTypeSpec, context: StageContext):
        super().__init__(spec, context)
        make_nlp()  # built with the stage, not in its first batch

    def process(self, row: Row) -> Iterable[Row]:
        caption = row.get("caption") or ""
        subcaption = row.get("subcaption") or ""
        is_panel = row.get("panel_index") is not None and bool(subcaption.strip())
        text = subcaption if is_panel else caption
        context = (row.get("mentions") or []) if self.spec.use_mentions else []
        label = label_figure(text, context, caption=caption if is_panel else None)  # the process pipeline, make_nlp()
        yield {
            **row,
            "figure_type": label.figure_type,
            "figure_type_source": label.source,
            "figure_type_confidence": label.confidence,
            "abbreviations": [{"short": short, "long": long} for short, long in label.abbreviations],
        }
