import pyarrow as pa
from builders import scrape_ray_metrics

from schemas.records import FIGURE, conform
from stages.runtime.metrics import batch_counts


def processed_batch() -> pa.Table:
    rows = [
        {"pmcid": "PMC1", "version": 1, "drop_reason": None},
        {"pmcid": "PMC1", "version": 1, "drop_reason": "image_too_small"},
        {"pmcid": "PMC2", "version": 1, "drop_reason": "image_too_small"},
        {"pmcid": "PMC3", "version": 1, "drop_reason": "caption_missing"},
        {"pmcid": "PMC4", "version": 1, "drop_reason": None},
    ]
    return conform(pa.Table.from_pylist(rows), FIGURE)


def test_batch_counts_separate_live_rows_from_drops_by_reason():
    assert batch_counts(processed_batch()) == (2, {"image_too_small": 2, "caption_missing": 1})


def test_stage_counters_reach_the_prometheus_endpoint_of_ray(ray_local):
    from stages.runtime.metrics import record_batch

    # in a worker, as stages record them; the idle worker lives on and exports its counters
    ray_local.get(ray_local.remote(record_batch).remote("metrics_probe", 4, processed_batch()))
    probe = 'stage="metrics_probe"'
    drops = scrape_ray_metrics("ray_figcurate_stage_drops_total", probe)
    assert any('reason="image_too_small"' in line and line.endswith(" 2.0") for line in drops), drops
    assert any('reason="caption_missing"' in line and line.endswith(" 1.0") for line in drops), drops
    assert [line.rsplit(" ", 1)[1] for line in scrape_ray_metrics("ray_figcurate_stage_rows_out_total", probe)] == ["2.0"]
    assert [line.rsplit(" ", 1)[1] for line in scrape_ray_metrics("ray_figcurate_stage_rows_in_total", probe)] == ["4.0"]
