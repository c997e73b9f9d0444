"""Stages that declare the columns they read give, on real records, what they give on whole rows:
a column read but not declared would come to ``process`` missing, and this tells."""

import pytest

from pipeline.config import RunConfig
from pipeline.plan import planned_stages, source_table, stage_worker
from pipeline.sources import enumerate_source, stage_context
from pipeline.units import split_units
from stages.runtime.base import Stage


@pytest.fixture(scope="module")
def inputs_by_stage(small_corpus, tmp_path_factory):
    """Each planned stage's input: the small corpus's records through the stages before it, as a run's task takes them."""
    config = RunConfig.model_validate(
        {"name": "t", "source": {"kind": "local", "root": str(small_corpus)}, "output": {"path": str(tmp_path_factory.mktemp("out"))},
         "stages": {"images": {"max_side": 256}}}
    )  # fmt: skip
    context = stage_context(config.source).model_copy(update={"scratch_dir": str(tmp_path_factory.mktemp("scratch"))})
    table = source_table(split_units(enumerate_source(config.source), 50))
    inputs = {}
    for planned in planned_stages(config):
        if planned.stage.execution_for(planned.spec) != "task":
            break
        worker = stage_worker(planned.name, planned.spec, context)
        inputs[planned.name] = (worker, table)
        table = worker.in_batches(table)
    return inputs


def readers(inputs_by_stage):
    return [name for name, (worker, _) in inputs_by_stage.items() if worker.reads is not None]


def test_filters_figure_types_and_hashes_read_only_the_columns_they_declare(inputs_by_stage):
    assert {"filters", "figure_type", "image_hashes"} <= set(readers(inputs_by_stage))
    for name in readers(inputs_by_stage):
        worker, table = inputs_by_stage[name]
        schema = worker.output_schema or table.schema
        live = table.filter(table.column("drop_reason").is_null())
        assert live.num_rows > 10, name
        declared = worker.process_live(live, schema)
        whole_rows = Stage.process_live.__get__(worker)
        worker.reads = None  # this instance only: every column to process
        try:
            expected = whole_rows(live, schema)
        finally:
            del worker.reads
        assert declared.equals(expected), name
