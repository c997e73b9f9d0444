from pipeline.bench.llm import bench_llm


def test_llm_bench_reports_constrained_and_unconstrained_speed():
    report = bench_llm(samples=2, batch_sizes=(2,), max_new_tokens=200, max_text_chars=8, repeats=1)
    constrained, free = report["results"]
    assert report["model"] == "tiny-llama" and report["backend"] == "transformers"
    assert constrained["valid"] == 2 and free["valid"] == 0  # the grammar is what makes a random model's answers valid
    assert all(row["samples_per_s"] > 0 and row["output_tokens_per_s"] > 0 for row in report["results"])
