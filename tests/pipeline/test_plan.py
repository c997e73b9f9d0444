import pyarrow as pa
import pytest

from pipeline.config import RunConfig
from pipeline.plan import chains, planned_stages, run_chain_task
from stages.images.pixels import PIXELS
from stages.runtime.context import StageContext


def config(**stages) -> RunConfig:
    return RunConfig.model_validate({"name": "t", "source": {"kind": "local", "root": "."}, "output": {"path": "out"}, "stages": stages})


def names(steps):
    return [[planned.name for planned in step] for step in steps]


def test_consecutive_task_stages_with_the_same_resources_run_as_one_step():
    steps = names(chains(planned_stages(config())))
    cpu = ["fetch", "parse_jats", "fetch_media", "images", "subfigures", "subcaptions", "filters", "figure_type", "image_hashes"]
    assert steps == [cpu, ["dedup"]]


def test_other_resources_or_a_global_stage_start_a_new_step():
    steps = names(chains(planned_stages(config(subfigures={"num_cpus": 2}))))
    assert steps == [
        ["fetch", "parse_jats", "fetch_media", "images"],
        ["subfigures"],
        ["subcaptions", "filters", "figure_type", "image_hashes"],
        ["dedup"],
    ]
    assert names(chains(planned_stages(config(dedup={"enabled": False}))))[-1][-1] == "figure_type"


def test_a_chain_runs_its_stages_in_order_and_drops_the_pixels_after_their_last_user(monkeypatch):
    seen = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def in_batches(self, table):
            seen.append((self.name, table.num_rows, PIXELS in table.column_names))
            return pa.concat_tables([table.slice(0, 2), table.slice(2)])

    monkeypatch.setattr("pipeline.plan.stage_worker", lambda name, spec, context: Recorder(name))
    links = [(p.name, p.spec) for p in planned_stages(config()) if p.name in ("images", "filters", "figure_type")]
    block = pa.table({"sample_key": ["a", "b", "c", "d", "e"], PIXELS: [b"\0"] * 5})
    out = run_chain_task(block, links=links, context=StageContext(), drop_pixels_after="filters")
    assert seen == [("images", 5, True), ("filters", 5, True), ("figure_type", 5, False)]
    # one chunk a column leaves the task, however the stages cut the block
    assert out.column_names == ["sample_key"] and out.column("sample_key").num_chunks == 1
    assert out.column("sample_key").to_pylist() == ["a", "b", "c", "d", "e"]


def test_a_global_stage_that_ends_the_plan_leaves_its_marks_to_the_unit_writers(ray_local, monkeypatch):
    from pipeline.plan import records_and_finish
    from pipeline.units import WorkUnit
    from stages.dedup.stage import Dedup
    from stages.io.source_local import ArticleVersion

    def decide(cls, dataset, spec, context, *, config, dedup_references):
        return dataset, "the decisions"

    def no_marks_pass(*args, **kwargs):
        raise AssertionError("a marks pass over the records")

    monkeypatch.setattr(Dedup, "decide", classmethod(decide))
    monkeypatch.setattr(Dedup, "mark", classmethod(no_marks_pass))
    units = [WorkUnit(0, (ArticleVersion(1, 1),))]
    records, finish = records_and_finish(config(), units, StageContext(), None, None, defer_last_global=True)
    assert finish is not None and finish.keywords["stage_type"] is Dedup
    # elsewhere (estimates, calibration) the records come out marked
    with pytest.raises(AssertionError, match="marks pass"):
        records_and_finish(config(), units, StageContext(), None, None, defer_last_global=False)


def test_blocks_hold_the_configured_articles_unless_the_window_is_too_small_to_keep_every_cpu_busy():
    from pipeline.plan import block_rows

    assert block_rows(600, 25, cpus=2) == 25  # 24 blocks
    assert block_rows(60, 25, cpus=2) == 15  # four blocks, two for each CPU
    assert block_rows(3, 25, cpus=16) == 1
    assert block_rows(10_000, 25, cpus=64) == 25
