import pyarrow as pa
import pyarrow.parquet as pq
from builders import sample_row

from pipeline.unit_writes import write_units
from schemas.records import SAMPLE, conform
from stages.io.output_location import OutputTarget

STAGE_UNITS = [("fetch", "article"), ("parse_jats", "figure"), ("fetch_media", "figure"), ("images", "figure")]


def block(*rows):
    return conform(pa.Table.from_pylist([{**sample_row(figure, pmcid=pmcid), "work_unit": unit} for unit, pmcid, figure in rows], schema=SAMPLE), SAMPLE)


def test_each_unit_is_written_once_with_all_its_rows_from_every_block_that_holds_them(ray_local, tmp_path):
    import ray.data

    # units cut across blocks as a run's blocks cut them: unit 1 is in all three
    blocks = [
        block((0, "PMC1", 1), (0, "PMC1", 2), (1, "PMC2", 1)),
        block((1, "PMC2", 2)),
        block((1, "PMC3", 1), (2, "PMC4", 1)),
    ]
    summaries = list(write_units(ray.data.from_arrow(blocks), output=OutputTarget(uri=str(tmp_path)), stage_units=STAGE_UNITS, fingerprint="f", splits={"train": 1.0}))
    assert sorted((s["unit"], s["samples"]) for s in summaries) == [(0, 2), (1, 3), (2, 1)]
    index = pq.read_table(tmp_path / "index" / "000001.parquet")
    assert sorted(index.column("sample_key").to_pylist()) == ["PMC2v1-f001", "PMC2v1-f002", "PMC3v1-f001"]
    assert sorted(p.name for p in (tmp_path / "shards").glob("*.tar")) == ["000000.tar", "000001.tar", "000002.tar"]


def test_a_finish_marks_each_units_rows_before_the_unit_is_written(ray_local, tmp_path):
    import pyarrow.compute as pc
    import ray.data

    def drop_second_figures(rows):
        second = pc.equal(rows.column("figure_index"), 2)
        for name, value in (("drop_stage", "dedup"), ("drop_reason", "duplicate_exact")):
            rows = rows.set_column(rows.schema.get_field_index(name), name, pc.if_else(second, pa.scalar(value), rows.column(name)))
        return rows

    blocks = [block((0, "PMC1", 1), (0, "PMC1", 2), (1, "PMC2", 1)), block((1, "PMC2", 2))]
    target = OutputTarget(uri=str(tmp_path))
    summaries = list(write_units(ray.data.from_arrow(blocks), finish=drop_second_figures, output=target, stage_units=STAGE_UNITS, fingerprint="f", splits={"train": 1.0}))
    assert sorted((s["unit"], s["samples"]) for s in summaries) == [(0, 1), (1, 1)]
    assert pq.read_table(tmp_path / "index" / "000001.parquet").column("sample_key").to_pylist() == ["PMC2v1-f001"]
    rejects = pq.read_table(tmp_path / "rejects" / "000001.parquet").to_pylist()
    assert [(r["key"], r["stage"], r["reason"]) for r in rejects] == [("PMC2v1-f002", "dedup", "duplicate_exact")]
