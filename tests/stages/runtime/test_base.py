import pyarrow as pa
import pytest
from builders import context, figure_row, figure_table

from schemas.records import FIGURE
from stages.runtime.base import Drop, Stage, StageSpec


class Doubler(Stage):
    """Emits two rows per figure, drops figure 2 and crashes on figure 3."""

    name = "images"
    output_schema = FIGURE

    def process(self, row):
        if row["figure_index"] == 2:
            raise Drop("image_too_small", "tiny")
        if row["figure_index"] == 3:
            raise RuntimeError("boom")
        if row["figure_index"] == 4:
            return []
        yield {**row, "caption": "one"}
        yield {**row, "caption": "two"}


def test_rows_are_processed_dropped_or_passed_through_and_schema_is_kept():
    upstream_drop = {**figure_row(5), "drop_stage": "fetch", "drop_reason": "fetch_not_found", "drop_detail": "x"}
    table = figure_table([figure_row(1), figure_row(2), figure_row(3), figure_row(4), upstream_drop])
    out = Doubler(StageSpec(), context())(table)
    assert out.schema == FIGURE
    rows = out.to_pylist()
    by_index: dict[int, list] = {}
    for row in rows:
        by_index.setdefault(row["figure_index"], []).append(row)
    assert [r["caption"] for r in by_index[1]] == ["one", "two"]
    assert (by_index[2][0]["drop_stage"], by_index[2][0]["drop_reason"], by_index[2][0]["drop_detail"]) == ("images", "image_too_small", "tiny")
    assert by_index[3][0]["drop_reason"] == "stage_error" and "RuntimeError: boom" in by_index[3][0]["drop_detail"]
    assert by_index[4][0]["drop_reason"] == "stage_error" and "no output" in by_index[4][0]["drop_detail"]
    assert by_index[5] == [upstream_drop | {k: None for k in FIGURE.names if k not in upstream_drop}]


def test_empty_batch():
    out = Doubler(StageSpec(), context())(FIGURE.empty_table())
    assert out.num_rows == 0 and out.schema == FIGURE


def test_unknown_drop_reason_is_a_bug():
    import pytest

    with pytest.raises(ValueError, match="unknown drop reason"):
        Drop("because_i_said_so")
    assert isinstance(pa.Table, type)


def test_a_table_goes_through_the_stage_batch_size_rows_a_call():
    calls = []

    class Counter(Doubler):
        def process_live(self, live, schema):
            calls.append(live.num_rows)
            return super().process_live(live, schema)

    table = figure_table([figure_row(i) for i in (1, 5, 6, 7, 8)])
    out = Counter(StageSpec(batch_size=2), context()).in_batches(table)
    assert calls == [2, 2, 1] and out.num_rows == 10 and out.schema == FIGURE
    assert Counter(StageSpec(batch_size=2), context()).in_batches(FIGURE.empty_table()).num_rows == 0


class CaptionTitle(Stage):
    """Reads only the caption; adds its first word as the caption title and drops empty captions."""

    name = "filters"
    output_schema = FIGURE
    reads = ("caption",)
    seen: list[set] = []

    def process(self, row):
        self.seen.append(set(row))
        if not row["caption"]:
            raise Drop("caption_too_short", "empty")
        yield {**row, "caption_title": row["caption"].split()[0]}


def test_a_stage_that_declares_its_reads_gets_only_those_columns_and_the_batch_takes_what_it_adds():
    rows = [figure_row(1, caption="Four cells"), figure_row(2, caption="", caption_title="kept"), figure_row(3, caption="Seven mice")]
    table = figure_table(rows)
    out = CaptionTitle(StageSpec(), context())(table)
    assert CaptionTitle.seen == [{"caption", "sample_key", "pmcid", "version"}] * 3  # the declared columns and the identity
    assert out.schema == FIGURE
    got = out.to_pylist()
    assert [row["caption_title"] for row in got] == ["Four", "kept", "Seven"]  # a drop keeps the row's own values
    assert (got[1]["drop_stage"], got[1]["drop_reason"]) == ("filters", "caption_too_short")
    untouched = [name for name in FIGURE.names if name not in ("caption_title", "drop_stage", "drop_reason", "drop_detail")]
    assert out.select(untouched).equals(table.select(untouched))  # every other column as it was


def test_a_stage_that_declares_its_reads_must_give_one_row_for_each():
    class Twice(CaptionTitle):
        def process(self, row):
            yield row
            yield row

    with pytest.raises(RuntimeError, match="one row for each row"):
        Twice(StageSpec(), context())(figure_table([figure_row(1, caption="a b c")]))
