"""``figcurate bench llm --backend vllm``: the llm stage on vLLM beside ``vllm bench throughput``.

A GPU check: the stage's vLLM path (``ray.data.llm`` processors built by ``ray_llm``, prompts,
structured outputs, validation) runs over generated records on local Ray, and reports samples/s
and output tokens/s; then ``vllm bench throughput`` runs the same model on random prompts of the
same mean input and output lengths, so the gap is what the stage adds (or structured decoding
costs). The stage's time includes the engine's start-up: use a few hundred samples so it matters
little. Needs the ``vllm`` extra (``pip install -e '.[vllm]'``), a CUDA GPU, and the model on local
disk or in the Hugging Face cache (nothing is downloaded where the machine has no network).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from pipeline.bench.llm import bench_records

THROUGHPUT_LINE = re.compile(r"Throughput:\s*([\d.]+)\s*requests/s,\s*([\d.]+)\s*total tokens/s,\s*([\d.]+)\s*output tokens/s")
VLLM_BENCH_TIMEOUT_S = 1800


def require_vllm_gpu() -> None:
    """A clear stop where the check cannot run."""
    try:
        import vllm  # noqa: F401
    except ImportError as error:
        raise SystemExit("figcurate bench llm --backend vllm: needs vLLM (pip install -e '.[vllm]' on a GPU machine)") from error
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("figcurate bench llm --backend vllm: torch sees no CUDA device")


def parse_vllm_throughput(output: str) -> dict:
    """The figures of ``vllm bench throughput``'s summary line."""
    match = THROUGHPUT_LINE.search(output)
    if not match:
        raise ValueError(f"no throughput line in vllm bench's output: {output[-500:]!r}")
    requests, total, generated = (float(value) for value in match.groups())
    return {"requests_per_s": requests, "total_tokens_per_s": total, "output_tokens_per_s": generated}


def vllm_bench_command(model: str, input_len: int, output_len: int, prompts: int, max_model_len: int) -> list[str]:
    executable = shutil.which("vllm") or str(Path(sys.executable).parent / "vllm")
    return [executable, "bench", "throughput", "--model", model, "--input-len", str(input_len), "--output-len", str(output_len),
            "--num-prompts", str(prompts), "--max-model-len", str(max_model_len)]  # fmt: skip


def bench_vllm(
    model: str, samples: int = 256, tasks: tuple[str, ...] = ("recaption",), max_new_tokens: int = 256, max_model_len: int = 8192,
    vision: bool = False, compare: bool = True,
) -> dict:  # fmt: skip
    require_vllm_gpu()
    import ray

    from stages.llm.ray_llm import generate_with_processors
    from stages.llm.spec import LlmSpec
    from stages.llm.tasks import TaskPlan

    spec = LlmSpec(
        enabled=True, backend="vllm", model=model, tasks=tasks, max_attempts=1, max_new_tokens=max_new_tokens, batch_size=32,
        vllm={"max_model_len": max_model_len, "vision": vision},
    )  # fmt: skip
    records = with_images(bench_records(samples)) if vision else bench_records(samples)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    started = time.perf_counter()
    dataset = generate_with_processors(ray.data.from_arrow(records), spec)
    rows = pa.concat_tables(ray.get(dataset.to_arrow_refs())).to_pylist()
    seconds = time.perf_counter() - started
    tokens = sum(row["llm_output_tokens"] or 0 for row in rows)
    input_len = mean_prompt_tokens(model, TaskPlan(spec), records.to_pylist())
    output_len = max(1, round(tokens / max(1, len(rows) * len(tasks))))
    report = {
        "bench": "llm", "backend": "vllm", "model": model, "tasks": list(tasks), "vision": vision, "samples": len(rows),
        "valid": sum(row["drop_reason"] is None for row in rows), "seconds_with_engine_start": round(seconds, 1),
        "samples_per_s": round(len(rows) / seconds, 2), "output_tokens_per_s": round(tokens / seconds, 1),
        "mean_prompt_tokens": input_len, "mean_output_tokens": output_len,
    }  # fmt: skip
    if compare:
        command = vllm_bench_command(model, input_len, output_len, samples * len(tasks), max_model_len)
        done = subprocess.run(command, capture_output=True, text=True, timeout=VLLM_BENCH_TIMEOUT_S)
        if done.returncode != 0:
            raise SystemExit(f"figcurate bench llm: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
        report["vllm_bench_throughput"] = {"command": " ".join(command), **parse_vllm_throughput(done.stdout)}
    return report


def mean_prompt_tokens(model: str, plan, rows: list[dict]) -> int:
    """Text tokens of the stage's prompts, on average (an image's tokens are not counted)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    prompts = [tokenizer.apply_chat_template(plan.messages(task, row), add_generation_prompt=True, tokenize=False) for row in rows for task in plan.tasks]
    lengths = [len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) for prompt in prompts]
    return max(1, round(sum(lengths) / len(lengths)))


def with_images(records: pa.Table, side: int = 512) -> pa.Table:
    from pipeline.bench.clip import bench_images

    images = bench_images(records.num_rows, side)
    return records.set_column(records.schema.get_field_index("image"), "image", pa.array(images, pa.binary()))
