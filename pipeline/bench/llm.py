"""``figcurate bench llm``: samples/s and output tokens/s of the llm stage's transformers backend.

Runs the stage in this process (as one actor of the pool would) over generated records, per batch
size the fastest of ``repeats`` passes, with decoding constrained by the task schemas, and once unconstrained at the same
token budget to show what the grammar mask costs. The default model is the tiny random Llama
(configs/models/tiny-llama): its figures measure the plumbing (prompt rendering, tokenisation,
grammar masking, validation), not what a real model would do; see docs/llm.md for vLLM figures.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

from schemas.keys import sample_key
from schemas.records import SAMPLE, conform
from stages.llm.prompts import REPOSITORY
from stages.runtime.context import StageContext

TINY_LLAMA = REPOSITORY / "configs" / "models" / "tiny-llama"
CAPTIONS = [
    "Axial chest CT showing bilateral peripheral ground-glass opacities.",
    "Western blot of Nrf2 in liver lysates from wild-type and knockout mice; beta-actin as loading control.",
    "H&E staining of liver sections after four weeks of diet. Scale bar, 100 um.",
    "Growth curves of three strains at 37 C in rich medium.",
]


def bench_records(samples: int) -> pa.Table:
    rows = [
        {
            "pmcid": f"PMC{1000 + i}", "version": 1, "work_unit": 0, "figure_index": 1, "sample_key": sample_key(f"PMC{1000 + i}", 1, 1),
            "title": "Findings in a small study", "label": "Figure 1", "caption": CAPTIONS[i % len(CAPTIONS)],
            "mentions": ["Figure 1 shows the main result.", "The experiment was repeated three times."],
        }
        for i in range(samples)
    ]  # fmt: skip
    return conform(pa.Table.from_pylist(rows), SAMPLE)


def bench_llm(
    model: Path = TINY_LLAMA,
    samples: int = 32,
    batch_sizes: tuple[int, ...] = (8,),
    tasks: tuple[str, ...] = ("recaption", "instruct"),
    max_text_chars: int = 48,
    max_new_tokens: int = 256,
    repeats: int = 3,
) -> dict:
    import torch

    from stages.llm.spec import LlmSpec
    from stages.llm.stage import LlmStage

    records = bench_records(samples)
    base = LlmSpec(
        enabled=True, model=str(model), allow_untrained=True, tasks=tasks, max_text_chars=max_text_chars, max_items=2,
        max_new_tokens=max_new_tokens, max_attempts=1,
    )  # fmt: skip
    results = []
    for batch_size in batch_sizes:
        for constrained in (True, False):
            spec = base.model_copy(update={"batch_size": batch_size, "constrained": constrained})
            stage = LlmStage(spec, StageContext())
            stage(records.slice(0, min(batch_size, samples)))  # warm-up: grammars compiled, kernels loaded
            timings = []
            for _ in range(repeats):  # the fastest pass: the least disturbed by other work on the machine
                started = time.perf_counter()
                tokens = valid = 0
                for start in range(0, samples, batch_size):
                    out = stage(records.slice(start, batch_size)).to_pylist()
                    tokens += sum(row["llm_output_tokens"] or 0 for row in out)  # rejects keep their count too
                    valid += sum(row["drop_reason"] is None for row in out)
                timings.append(time.perf_counter() - started)
            seconds = min(timings)
            # unconstrained, a random model's first answer never parses: that row is the raw decoding speed
            measured = "all tasks, constrained" if constrained else f"{tasks[0]} only, unconstrained (answers invalid)"
            results.append({
                "batch_size": batch_size, "measured": measured, "samples": samples, "valid": valid, "seconds": round(seconds, 2),
                "samples_per_s": round(samples / seconds, 2), "output_tokens_per_s": round(tokens / seconds, 1),
            })  # fmt: skip
    return {
        "bench": "llm",
        "backend": "transformers",
        "model": Path(model).name,
        "tasks": list(tasks),
        "max_text_chars": max_text_chars,
        "max_new_tokens": max_new_tokens,
        "torch_threads": torch.get_num_threads(),
        "repeats": repeats,
        "results": results,
    }
