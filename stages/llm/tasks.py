"""What every backend shares: the tasks of a run, their prompts and schemas, and record assembly."""

from __future__ import annotations

from typing import Any

from stages.llm.outputs import (
    InvalidOutput,
    bounded_schema,
    generated_summary,
    parse_output,
    task_columns,
)
from stages.llm.prompts import TASK_ORDER, load_schema, load_template
from stages.llm.spec import LlmSpec

Row = dict[str, Any]
UNTRAINED_MARK = "untrained-random"


class TaskPlan:
    def __init__(self, spec: LlmSpec):
        self.spec = spec
        self.tasks: tuple[str, ...] = tuple(task for task in TASK_ORDER if task in spec.tasks)
        self.templates = {task: load_template(task, spec.version_of(task), spec.prompt_folder()) for task in self.tasks}
        self.schemas = {task: bounded_schema(load_schema(task), spec.max_text_chars, spec.max_items) for task in self.tasks}
        self.prompt_versions = [self.templates[task].label for task in self.tasks]

    def messages(self, task: str, row: Row) -> list[dict[str, str]]:
        inputs = {**row, "generated": generated_summary(row)} if task == "judge" else row
        return self.templates[task].messages(inputs, max_mentions=self.spec.max_mentions, max_chars=self.spec.max_source_chars)

    def accept(self, task: str, text: str) -> Row:
        """The columns a valid answer sets; ``InvalidOutput`` otherwise."""
        return task_columns(task, parse_output(text, self.schemas[task]))

    def decoding(self, attempt: int) -> tuple[float, int]:
        """(temperature, seed) of an attempt: the first as configured, later ones sampled so they can differ."""
        temperature = self.spec.temperature if attempt == 1 else self.spec.retry_temperature
        return temperature, self.spec.seed + attempt

    def invalid_detail(self, task: str, error: InvalidOutput | str, text: str) -> str:
        """The reject's detail: the task, why the last answer failed, and its raw text."""
        return f"{self.templates[task].label}: {self.spec.max_attempts} attempt(s) failed; last: {error}; raw: {text[:1500]!r}"

    def finish(self, row: Row, model_label: str, untrained: bool) -> tuple[Row, tuple[str, str] | None]:
        """The record with the run's provenance set, and the (reason, detail) of a judge drop if any."""
        out = {**row, "llm_prompt_versions": self.prompt_versions, "llm_model": model_label, "llm_untrained": untrained}
        if "judge" in self.tasks:
            scores = (out["llm_judge_informativeness"], out["llm_judge_consistency"])
            if min(scores) < self.spec.judge_min_score:
                return out, ("llm_judge_below_threshold", f"informativeness {scores[0]}, consistency {scores[1]} < {self.spec.judge_min_score}")
        return out, None


def has_source_text(row: Row) -> bool:
    return bool((row.get("caption") or "").strip() or (row.get("subcaption") or "").strip())


def model_label(model: str, untrained: bool) -> str:
    return f"{model}@{UNTRAINED_MARK}" if untrained else model
