"""The vLLM GPU check (`figcurate bench llm --backend vllm`): tested up to where a GPU is needed."""

import importlib.util
import os

import pytest

from pipeline.bench.vllm import bench_vllm, parse_vllm_throughput, vllm_bench_command
from pipeline.cli import main

# vLLM's own summary line, as `vllm bench throughput` prints it
SUMMARY = "Throughput: 12.50 requests/s, 6400.00 total tokens/s, 1600.25 output tokens/s\nTotal num prompt tokens:  40000\n"


def test_the_summary_of_vllm_bench_throughput_is_read():
    assert parse_vllm_throughput("INFO starting\n" + SUMMARY) == {"requests_per_s": 12.5, "total_tokens_per_s": 6400.0, "output_tokens_per_s": 1600.25}
    with pytest.raises(ValueError, match="no throughput line"):
        parse_vllm_throughput("Traceback (most recent call last): ...")


def test_vllm_bench_gets_the_stage_s_model_and_lengths():
    command = vllm_bench_command("Qwen/Qwen2.5-VL-3B-Instruct", input_len=900, output_len=120, prompts=256, max_model_len=8192)
    assert command[1:4] == ["bench", "throughput", "--model"] and command[4] == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert command[command.index("--input-len") + 1] == "900" and command[command.index("--output-len") + 1] == "120"
    assert command[command.index("--num-prompts") + 1] == "256"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_without_vllm_the_check_says_what_it_needs(capsys):
    with pytest.raises(SystemExit, match=r"needs vLLM \(pip install -e '.\[vllm\]'"):
        main(["bench", "llm", "--backend", "vllm", "--model", "some/model"])


@pytest.mark.gpu
def test_the_stage_on_vllm_reports_its_throughput():
    if importlib.util.find_spec("vllm") is None or not os.environ.get("FIGCURATE_VLLM_MODEL"):
        pytest.skip("needs vLLM, a CUDA GPU and FIGCURATE_VLLM_MODEL (a local model folder or cached hub id)")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    report = bench_vllm(os.environ["FIGCURATE_VLLM_MODEL"], samples=16, max_new_tokens=64, compare=False)
    assert report["samples"] == 16 and report["valid"] > 0 and report["output_tokens_per_s"] > 0
