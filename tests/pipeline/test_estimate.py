import json
import time

import pytest
from builders import TINY_CLIP, article_table, context

from pipeline.cli import main
from pipeline.config import RunConfig, load_config
from pipeline.estimate import ASSUMED_GPU_ITEMS_PER_S, estimate, render, run_stage, spread_sample
from pipeline.plan import PlannedStage
from pipeline.sources import enumerate_source
from stages.io.source_local import ArticleVersion
from stages.runtime.base import Stage, StageSpec


def test_the_sample_is_spread_over_the_whole_list_and_the_same_every_time():
    articles = [ArticleVersion(n, 1) for n in range(1, 101)]
    sample = spread_sample(articles, 10)
    assert [a.pmcid for a in sample] == [f"PMC{n}" for n in range(1, 101, 10)]
    assert spread_sample(articles, 10) == sample
    assert spread_sample(articles, 500) == articles


@pytest.fixture(scope="module")
def whole_corpus_plan(run_output):
    """The plan of the session's run, with the whole corpus as its sample: it must predict the run exactly."""
    _, _, config = run_output
    return estimate(config, sample_size=10_000, cpus=8, gpus=0)


def test_a_plan_sampling_every_article_predicts_the_runs_funnel_and_samples(run_output, whole_corpus_plan):
    output, _, _ = run_output
    stats = json.loads((output / "stats.json").read_text())
    predicted = {row["stage"]: (row["in"], row["out"]) for row in whole_corpus_plan.per_stage}
    actual = {name: (counts["in"], counts["out"]) for name, counts in stats["stages"].items() if name in predicted}
    assert predicted == actual
    assert whole_corpus_plan.totals["samples"] == stats["samples"]
    assert whole_corpus_plan.totals["figures"] == stats["stages"]["parse_jats"]["out"]
    # the same records written as one shard: within the tar padding of the run's several shards
    assert whole_corpus_plan.totals["shard_gb"] * 1e9 == pytest.approx(stats["shard_bytes"], rel=0.1)


def test_the_estimate_scales_with_the_set_and_divides_by_the_cluster(whole_corpus_plan):
    from dataclasses import replace

    from pipeline.estimate import extrapolate

    base = whole_corpus_plan
    bigger = replace(base, articles_total=base.articles_total * 1000, cpus=base.cpus * 10, per_stage=[], totals={})
    extrapolate(bigger)
    assert bigger.totals["samples"] == pytest.approx(base.totals["samples"] * 1000, rel=1e-3)
    assert bigger.totals["cpu_core_hours"] == pytest.approx(base.totals["cpu_core_hours"] * 1000)
    assert bigger.totals["wall_hours"] == pytest.approx(base.totals["wall_hours"] * 100)
    assert base.totals["cpu_core_hours"] > 0 and all(row["core_hours"] >= 0 for row in base.per_stage)


def gpu_clip_config(run_output, num_gpus: float):
    _, _, config = run_output
    data = json.loads(config.model_dump_json())
    data["stages"]["clip_score"] = {
        "enabled": True, "clip": {"model": f"local-dir:{TINY_CLIP}", "allow_untrained": True}, "num_gpus": num_gpus, "keep_top_fraction": 0.5,
    }  # fmt: skip
    data["source"]["max_articles"] = 4
    return type(config).model_validate(data)


def test_a_gpu_stage_without_a_gpu_takes_its_gpu_hours_from_the_stated_rate(run_output):
    config = gpu_clip_config(run_output, num_gpus=1)
    result = estimate(config, articles_total=4_000_000, gpus=4, gpu_rates={"clip_score": 1000.0})
    clip = next(row for row in result.per_stage if row["stage"] == "clip_score")
    assert clip["measured"] is False and clip["gpu_items_per_s"] == 1000.0
    assert clip["out"] == pytest.approx(clip["in"] / 2, abs=1e6)  # keep_top_fraction keeps half, whatever the scores
    assert result.totals["samples"] == pytest.approx(clip["out"], rel=1e-6)
    assert clip["gpu_hours"] == pytest.approx(clip["in"] / 1000.0 / 3600)
    assert result.totals["gpu_hours"] == pytest.approx(clip["gpu_hours"])
    assert result.totals["wall_hours"] >= clip["gpu_hours"] / 4
    assert "stated rate, not measured here" in render(result)
    default = estimate(config, articles_total=4_000_000)
    assert next(r for r in default.per_stage if r["stage"] == "clip_score")["gpu_items_per_s"] == ASSUMED_GPU_ITEMS_PER_S["clip_score"]


def test_plan_cli_prints_the_estimate_and_refuses_a_bad_rate(run_output, tmp_path, capsys):
    _, _, config = run_output
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(json.loads(config.model_dump_json())))
    assert main(["plan", str(path), "--sample", "3", "--articles-total", "7000000", "--cpus", "512", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["articles_total"] == 7_000_000 and printed["sample_articles"] == 3
    assert printed["totals"]["articles"] == 7_000_000 and printed["totals"]["samples"] > 0
    assert main(["plan", str(path), "--gpu-rate", "clip_score=fast"]) == 2
    assert "STAGE=ITEMS_PER_S" in capsys.readouterr().err
    assert len(enumerate_source(load_config(path).source)) > 3


def test_a_vllm_stage_is_planned_on_gpus_without_building_its_engine(run_output):
    _, _, config = run_output
    data = json.loads(config.model_dump_json())
    data["stages"]["llm"] = {"enabled": True, "backend": "vllm", "model": "Qwen/Qwen2.5-VL-7B-Instruct", "vllm": {"tensor_parallel_size": 2}}
    data["source"]["max_articles"] = 3
    result = estimate(type(config).model_validate(data), articles_total=1_000_000, gpus=8)
    llm = next(row for row in result.per_stage if row["stage"] == "llm")
    assert llm["gpu_items_per_s"] == ASSUMED_GPU_ITEMS_PER_S["llm"] and llm["measured"] is False
    assert result.totals["gpu_hours"] == pytest.approx(llm["in"] / ASSUMED_GPU_ITEMS_PER_S["llm"] / 3600)


def test_what_a_stage_loads_on_its_first_call_counts_as_setup_not_per_item(tmp_path):
    class LoadsLazily(Stage):
        name, output_schema, loaded = "lazy", None, False

        def process(self, row):
            if not LoadsLazily.loaded:
                time.sleep(0.5)  # a tokenizer or a model, loaded on the first row a worker sees
                LoadsLazily.loaded = True
            yield row

    config = RunConfig.model_validate({"name": "t", "source": {"kind": "local", "root": str(tmp_path)}, "output": {"path": str(tmp_path / "out")}})
    table = article_table()
    out, seconds, setup = run_stage(PlannedStage("lazy", "article", LoadsLazily, StageSpec(batch_size=1)), table, context(), config)
    assert out.num_rows == table.num_rows
    assert setup >= 0.5 > seconds
