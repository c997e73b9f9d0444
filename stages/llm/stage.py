"""Stage ``llm``: recaption, instruction conversations and judge scores for every live sample.

With the ``transformers`` backend the stage is an actor pool like ``clip_score``: each actor loads
the model once (a vision-language model gets each record's image with its prompt) and runs the tasks over its batch in order, every task as one batched generation,
retrying the records whose answers fail (``max_attempts``) and dropping those that never pass as
``llm_output_invalid`` with the raw text in the reject's detail. With ``vllm`` or ``openai`` it is a
dataset transform made of ``ray.data.llm`` processors (``ray_llm.py``); both share ``TaskPlan``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from schemas.records import GENERATED
from stages.llm.outputs import InvalidOutput
from stages.llm.spec import LlmSpec
from stages.llm.tasks import TaskPlan, has_source_text, model_label
from stages.runtime.base import Row, Stage, StageSpec


class LlmStage(Stage):
    name = "llm"
    spec_type = LlmSpec
    output_schema = GENERATED
    execution = "actor"
    optional = True

    @classmethod
    def execution_for(cls, spec: StageSpec) -> str:
        return "actor" if spec.backend == "transformers" else "global"

    @classmethod
    def gpus_per_worker(cls, spec: StageSpec) -> float:
        if spec.backend == "vllm":  # the engines of ray.data.llm take theirs, not the stage's spec
            return float(spec.vllm.tensor_parallel_size)
        return super().gpus_per_worker(spec)

    @classmethod
    def transform(cls, dataset, spec: LlmSpec, context, *, config=None, dedup_references=None):
        from stages.llm.ray_llm import generate_with_processors

        return generate_with_processors(dataset, spec)

    def __init__(self, spec: LlmSpec, context):
        super().__init__(spec, context)
        import torch

        from stages.llm.transformers_engine import load_engine

        device = "cuda" if spec.num_gpus > 0 and torch.cuda.is_available() else "cpu"
        self.engine = load_engine(spec.model, spec.allow_untrained, device)
        self.plan = TaskPlan(spec)
        self.label = model_label(Path(spec.model).name, self.engine.untrained)

    def _process_all(self, rows: list[Row]) -> Iterator[Row]:
        try:
            outputs = list(self._generate(rows))
        except Exception:  # noqa: BLE001 - isolate the bad record: one record at a time through the base class
            yield from super()._process_all(rows)
            return
        yield from outputs

    def process(self, row: Row):
        yield from self._generate([row])

    def _generate(self, rows: list[Row]) -> Iterator[Row]:
        live = []
        for row in rows:
            if has_source_text(row):
                live.append({**row, "llm_output_tokens": 0})
            else:
                yield self.dropped(row, "caption_missing", "no caption or subcaption to generate from")
        for task in self.plan.tasks:
            done, failed = self._run_task(task, live)
            yield from (self.dropped(row, "llm_output_invalid", detail) for row, detail in failed)
            live = done
        for row in live:
            out, drop = self.plan.finish(row, self.label, self.engine.untrained)
            yield self.dropped(out, *drop) if drop else out

    def _run_task(self, task: str, rows: list[Row]) -> tuple[list[Row], list[tuple[Row, str]]]:
        """(records the task completed, (record, detail) of those whose every attempt failed)."""
        schema = self.plan.schemas[task] if self.spec.constrained else None
        pending, done, last_failure = list(rows), [], {}
        for attempt in range(1, self.spec.max_attempts + 1):
            if not pending:
                break
            temperature, seed = self.plan.decoding(attempt)
            generations = self.engine.generate(
                [self.plan.messages(task, row) for row in pending],
                schema,
                max_new_tokens=self.spec.max_new_tokens,
                temperature=temperature,
                seed=seed,
                images=[row["image"] for row in pending] if self.engine.vision else None,
            )
            retry = []
            for row, generation in zip(pending, generations):
                row = {**row, "llm_output_tokens": row["llm_output_tokens"] + generation.tokens}
                try:
                    done.append({**row, **self.plan.accept(task, generation.text)})
                except InvalidOutput as error:
                    last_failure[row["sample_key"]] = (error, generation.text)
                    retry.append(row)
            pending = retry
        return done, [(row, self.plan.invalid_detail(task, *last_failure[row["sample_key"]])) for row in pending]
