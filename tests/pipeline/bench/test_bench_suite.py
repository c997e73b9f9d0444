import json

import pytest

from pipeline.bench.suite import bare_loop, bench_cpu_path, bench_scaling, cpu_path_round, median_round, render_suite
from pipeline.demo_corpus import generate_corpus, load_truth


def test_the_bare_loop_reencodes_the_figures_the_images_stage_gets(tmp_path):
    generate_corpus(tmp_path, articles=8, seed=2)
    articles, figures = load_truth(tmp_path)
    dropped = {(a["pmcid"], a["version"]) for a in articles if a["expected_drop"]}
    kept = [f for f in figures if f["newest"] and (f["pmcid"], f["version"]) not in dropped]
    reasons = [(f["expected_drop"] or {}).get("reason") for f in kept]
    result = bare_loop(tmp_path)
    assert result["undecodable"] == reasons.count("image_decode_error") == 1
    # parse and fetch drops never reach the images stage; image_too_small decodes, and is dropped after
    assert result["images"] == len(kept) - sum(r in {"caption_missing", "fetch_not_found", "fetch_checksum_mismatch", "image_decode_error"} for r in reasons)


def test_the_bare_loop_on_several_processes_shares_out_the_same_images(tmp_path):
    generate_corpus(tmp_path, articles=8, seed=2)
    alone, together = bare_loop(tmp_path), bare_loop(tmp_path, processes=2)
    assert together["processes"] == 2 and alone["processes"] == 1
    assert (together["images"], together["undecodable"]) == (alone["images"], alone["undecodable"])
    # seconds are both processes' together: core-seconds
    assert together["images_per_s_per_core"] == pytest.approx(together["images"] / together["seconds"], rel=0.01)


def test_cpu_path_bench_separates_the_steady_state_from_the_fixed_cost_and_breaks_the_stages_down():
    result = bench_cpu_path(articles=4, cpus=2, seed=1, factor=3)
    small, large = result["runs"]
    assert (small["articles"], large["articles"]) == (4, 12) and large["figures"] > small["figures"] > 0
    assert small["pipeline_s_tries"] == [small["pipeline_s"]]  # one round unless repeats asks for more
    assert "peak_private_mb" not in small  # timed runs sample RSS only: private memory costs the run a share of a core
    assert len(result["rounds"]) == 1 and result["rounds"][0]["ratio_to_bare_loop"] == result["ratio_to_bare_loop"]
    assert result["figures"] == large["figures"] == result["bare_loop"]["images"] + result["bare_loop"]["undecodable"]  # the same images
    per_core = large["figures"] / large["pipeline_s"] / 2
    assert result["whole_run_ratio"] == round(per_core / result["bare_loop"]["images_per_s_per_core"], 3)
    marginal = (large["pipeline_s"] - small["pipeline_s"]) * 2 * 1000 / (large["figures"] - small["figures"])
    assert result["marginal_core_ms_per_figure"] == round(marginal, 1)
    assert result["bare_loop"]["processes"] == 2 and result["bare_loop_one_process"]["processes"] == 1  # the loop on the run's cores, and alone
    assert result["bare_loop_one_process"]["images"] == result["bare_loop"]["images"]
    if marginal > 0:
        assert result["ratio_to_bare_loop"] == round(1000 / result["bare_loop"]["images_per_s_per_core"] / marginal, 3)
        assert result["ratio_to_bare_loop_one_process"] == round(1000 / result["bare_loop_one_process"]["images_per_s_per_core"] / marginal, 3)
    assert result["fixed_s"] == round(small["pipeline_s"] - small["figures"] * marginal / 2 / 1000, 2)
    stages = {row["stage"]: row for row in result["stages"]}
    assert {"fetch", "images", "subfigures", "subcaptions", "filters", "dedup"} <= set(stages)
    assert stages["images"]["unit"] == "figure" and stages["images"]["items"] > 0 and stages["images"]["ms_per_item"] > 0
    assert result["peak_rss_mb"] > 100  # a driver, Ray's processes and workers were measured, not just this process


def test_a_round_relates_its_own_runs_and_loops_and_the_median_round_counts():
    small, large = {"pipeline_s": 10.0, "figures": 100}, {"pipeline_s": 25.0, "figures": 400}
    one = cpu_path_round(small, large, {"images_per_s_per_core": 50.0}, {"images_per_s_per_core": 60.0}, cpus=2)
    assert one["marginal_core_ms_per_figure"] == 100.0  # (25 - 10) s * 2 cores / 300 figures
    assert (one["bare_core_ms_per_image"], one["ratio_to_bare_loop"]) == (20.0, 0.2)
    assert (one["bare_core_ms_per_image_one_process"], one["ratio_to_bare_loop_one_process"]) == (16.7, 0.167)
    assert one["fixed_s"] == 5.0  # the small run less its figures at the marginal rate
    rounds = [{"ratio_to_bare_loop": ratio, "n": n} for n, ratio in enumerate([0.5, 0.7, 0.6])]
    assert median_round(rounds)["n"] == 2
    assert median_round(rounds[:2])["n"] == 0  # of two, the lower
    assert median_round([{"ratio_to_bare_loop": None, "n": 0}, {"ratio_to_bare_loop": 0.4, "n": 1}])["n"] == 0


def test_scaling_bench_runs_both_sizes_and_relates_them():
    result = bench_scaling(articles=4, factor=3, cpus=2, seed=1)
    small, large = result["runs"]
    assert (small["articles"], large["articles"]) == (4, 12)
    assert large["figures"] > small["figures"] > 0
    assert result["input_ratio"] == round(large["figures"] / small["figures"], 2)
    assert result["time_ratio"] == round(large["pipeline_s"] / small["pipeline_s"], 2)
    assert result["memory_ratio"] == round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)
    assert 100 < small["peak_private_mb"] < small["peak_rss_mb"]  # the tree's own memory, shared pages left out
    assert result["private_memory_ratio"] == round(large["peak_private_mb"] / small["peak_private_mb"], 2)
    assert result["marginal_core_ms_per_figure"] == round((large["pipeline_s"] - small["pipeline_s"]) * 2000 / (large["figures"] - small["figures"]), 1)


def test_the_suite_table_shows_each_bench_and_skips_what_is_missing():
    cpu = {"cpus": 2, "figures": 10, "figures_per_s_per_core": 5.0, "samples_per_s_per_core": 9.0,
           "bare_loop": {"images_per_s_per_core": 50.0, "processes": 2}, "bare_loop_one_process": {"images_per_s_per_core": 55.0},
           "ratio_to_bare_loop": 0.4, "ratio_to_bare_loop_one_process": 0.36, "marginal_core_ms_per_figure": 50.0,
           "bare_core_ms_per_image": 20.0, "whole_run_ratio": 0.1, "fixed_s": 9.0}
    results = {
        "cpu_path": cpu,
        "scaling": {"input_ratio": 4.1, "time_ratio": 3.8, "memory_ratio": 1.05, "runs": [{"peak_rss_mb": 2000}, {"peak_rss_mb": 2100}]},
        "panels": {"figures_per_second": 40.0},
        "parse": {"skipped": "no pubmed_parser"},
        "shards": {"write_mb_per_s": 300.0, "verify_share_of_write": 0.2},
        "image_hashes": {"images_per_s_per_core": 170.0},
        "dedup": [{"hashes": 100_000, "hashes_per_s": 7000, "peak_rss_all_processes_mb": 1800}],
        "fetch": {"skipped": "no moto"},
    }
    table = render_suite(json.loads(json.dumps(results)))
    assert "| CPU path / bare loop | 0.4 steady state (50.0 core-ms a figure against 20.0; 0.36 against the loop alone), 0.1 whole run, fixed 9.0 s |" in table
    assert "| bare decode-resize-encode loop | 50.0 images/s per core on 2 cores, 55.0 alone on one |" in table
    assert "time x3.8, peak memory x1.05 (2000 -> 2100 MB)" in table
    assert "JATS parsing" not in table and "fetch" not in table
