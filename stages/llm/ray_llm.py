"""The ``vllm`` and ``openai`` backends: the llm stage as a chain of passes over the dataset.

A pass sends every record through an engine: a ``ray.data.llm`` processor (vLLM actors on GPUs),
or HTTP workers calling an OpenAI-compatible server (``http_client.py``, which says why not
``ray.data.llm``'s HTTP processor); the stage chains one pass per task and attempt. Every record
goes through every pass so that the dataset streams without being split and joined again: a
record that a pass has nothing to ask for (dropped, task already answered) sends a one-token
request, which costs the engine next to nothing. ``preprocess`` and ``postprocess`` use the same
``TaskPlan`` as the transformers backend, so prompts, validation and records are identical.
Each extra attempt is one more processor (one more engine pool); structured outputs make invalid
answers rare (a truncated answer, mostly), so ``max_attempts: 1`` or 2 suits vLLM.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pyarrow as pa

from schemas.records import GENERATED, conform
from stages.llm.outputs import InvalidOutput
from stages.llm.spec import LlmSpec
from stages.llm.tasks import Row, TaskPlan, has_source_text, model_label

# the column each task fills: a record still needs the task while it is null
ANSWER_COLUMN = {"recaption": "llm_recaption", "instruct": "llm_conversation", "judge": "llm_judge_informativeness"}
LAST_FAILURE = "llm_last_failure"  # why the previous attempt failed, kept between passes for the reject's detail
IDLE_MESSAGES = [{"role": "user", "content": "."}]
ENGINE_ERROR = "engine error: "


def engine_kwargs(spec: LlmSpec) -> dict[str, Any]:
    settings = spec.vllm
    kwargs = {
        "tensor_parallel_size": settings.tensor_parallel_size,
        "max_model_len": settings.max_model_len,
        "gpu_memory_utilization": settings.gpu_memory_utilization,
        "enable_prefix_caching": settings.enable_prefix_caching,
    }
    if settings.max_num_batched_tokens is not None:
        kwargs.update(enable_chunked_prefill=True, max_num_batched_tokens=settings.max_num_batched_tokens)
    if settings.vision:
        kwargs["limit_mm_per_prompt"] = {"image": 1}
    return {**kwargs, **settings.engine_kwargs}


def vllm_processor_config(spec: LlmSpec):
    from ray.data.llm import vLLMEngineProcessorConfig

    return vLLMEngineProcessorConfig(
        model_source=spec.model,
        engine_kwargs=engine_kwargs(spec),
        batch_size=spec.batch_size,
        concurrency=spec.concurrency or 1,
        accelerator_type=spec.vllm.accelerator_type,
        prepare_multimodal_stage={"enabled": spec.vllm.vision},
        # an engine error on one record (an over-long prompt) becomes that record's failed attempt
        should_continue_on_error=True,
    )


def openai_headers(spec: LlmSpec) -> dict[str, str]:
    """The request headers; the API key is read here, on the driver, from the variable the config names."""
    from stages.llm.http_client import bearer_headers

    return bearer_headers(spec.openai.api_key_env, "stages.llm.openai.api_key_env")


def chat_pass(spec: LlmSpec) -> Callable:
    """``build`` for the openai backend: preprocess, the requests (``http_client.ChatClient`` on
    ``concurrency`` workers), postprocess; the same shape as a ``ray.data.llm`` processor."""
    from stages.llm.http_client import ChatClient

    settings = spec.openai
    client_kwargs = {
        "url": settings.url, "headers": openai_headers(spec), "timeout_s": settings.timeout_s, "max_retries": settings.max_retries,
        "retry_wait_s": settings.retry_wait_s, "max_in_flight": settings.max_in_flight, "qps": settings.qps,
    }  # fmt: skip

    def build(config, preprocess, postprocess):
        def apply(dataset):
            dataset = dataset.map(preprocess)
            dataset = dataset.map_batches(
                ChatClient, fn_constructor_kwargs=client_kwargs, batch_size=spec.batch_size, batch_format="pyarrow", concurrency=spec.concurrency or 1
            )
            return dataset.map(postprocess)

        return apply

    return build


def sampling_params(plan: TaskPlan, task: str, attempt: int, max_tokens: int | None = None) -> dict[str, Any]:
    """vLLM sampling parameters of one attempt, constrained by the task's schema (``structured_outputs``)."""
    temperature, seed = plan.decoding(attempt)
    params: dict[str, Any] = {"max_tokens": max_tokens or plan.spec.max_new_tokens, "temperature": temperature, "seed": seed}
    if plan.spec.constrained:
        # as a JSON string: a nested dict would become an Arrow struct on its way through the dataset
        params["structured_outputs"] = {"json": json.dumps(plan.schemas[task])}
    return params


def openai_payload(plan: TaskPlan, task: str, attempt: int, messages: list[dict], max_tokens: int | None = None) -> str:
    """A chat completions request as JSON text (an Arrow struct would fill a schema's missing keys with
    nulls), constrained by the task's schema unless the run says otherwise."""
    from stages.llm.http_client import chat_request

    temperature, seed = plan.decoding(attempt)
    schema = plan.schemas[task] if plan.spec.constrained else None
    return chat_request(plan.spec.model, messages, max_tokens=max_tokens or plan.spec.max_new_tokens, temperature=temperature, seed=seed,
                        schema=schema, schema_name=task)  # fmt: skip


def image_data_url(image: bytes, max_side: int) -> str:
    """The image resized to ``max_side`` (on the CPU worker that runs preprocess), as a JPEG data URL."""
    from PIL import Image

    from stages.images.stage import jpeg_data_url

    with Image.open(io.BytesIO(image)) as opened:
        opened.load()
        return jpeg_data_url(opened, max_side, quality=90)


@lru_cache(maxsize=1)
def blank_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(buffer, format="JPEG")
    return buffer.getvalue()


def with_image(messages: list[dict], image: bytes, max_side: int) -> list[dict]:
    """The messages as OpenAI content parts, the image before the text of the last user turn.

    Every message gets a list of parts (not a plain string), so that the column has one Arrow type.
    """
    parts = [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]} for m in messages]
    parts[-1]["content"].insert(0, {"type": "image_url", "image_url": {"url": image_data_url(image, max_side)}})
    return parts


def needs(row: Row, task: str) -> bool:
    return row.get("drop_reason") is None and row.get(ANSWER_COLUMN[task]) is None


class Request:
    """``preprocess`` of one pass: the request of a record that needs (task, attempt), else an idle one."""

    def __init__(self, plan: TaskPlan, task: str, attempt: int):
        self.plan, self.task, self.attempt = plan, task, attempt
        self.vision = plan.spec.vllm.vision if plan.spec.backend == "vllm" else plan.spec.openai.vision
        self.max_side = plan.spec.vllm.image_max_side if plan.spec.backend == "vllm" else plan.spec.openai.image_max_side

    def __call__(self, row: Row) -> Row:
        # An idle request has the same fields as a real one, so that every batch has one Arrow type.
        active = needs(row, self.task)
        messages = self.plan.messages(self.task, row) if active else IDLE_MESSAGES
        if self.vision:
            messages = with_image(messages, row["image"] if active else blank_jpeg(), self.max_side)
        max_tokens = None if active else 1
        if self.plan.spec.backend == "openai":
            return {**row, "payload": openai_payload(self.plan, self.task, self.attempt, messages, max_tokens)}
        return {**row, "messages": messages, "sampling_params": sampling_params(self.plan, self.task, self.attempt, max_tokens)}


class Response:
    """``postprocess`` of one pass: the answer parsed into the record, a failure kept, or (last attempt) a drop."""

    def __init__(self, plan: TaskPlan, task: str, attempt: int):
        self.plan, self.task, self.attempt = plan, task, attempt

    def __call__(self, row: Row) -> Row:
        out = {name: row.get(name) for name in (*GENERATED.names, LAST_FAILURE)}
        if not needs(out, self.task):
            return out
        text, tokens, error = answer_of(row)
        out["llm_output_tokens"] = (out.get("llm_output_tokens") or 0) + tokens
        try:
            if error:
                raise InvalidOutput(f"{ENGINE_ERROR}{error}")
            out.update(self.plan.accept(self.task, text))
            out[LAST_FAILURE] = None
        except InvalidOutput as failure:
            out[LAST_FAILURE] = self.plan.invalid_detail(self.task, failure, text)
            if self.attempt == self.plan.spec.max_attempts:
                out.update(drop_stage="llm", drop_reason=failure_reason(out[LAST_FAILURE]), drop_detail=out[LAST_FAILURE][:2000])
        return out


def failure_reason(detail: str) -> str:
    """An engine or server that gave no answer is not a model that answered wrongly."""
    return "llm_request_failed" if f"; last: {ENGINE_ERROR}" in detail else "llm_output_invalid"


def answer_of(row: Row) -> tuple[str, int, str | None]:
    """(text, generated tokens, engine error) from a vLLM engine's or the chat client's output row."""
    error = row.get("__inference_error__") or None
    return row.get("generated_text") or "", int(row.get("num_generated_tokens") or 0), error


def start_batch(batch: pa.Table) -> pa.Table:
    """Records on the stage's schema; live ones without any text to work from are dropped here."""
    table = conform(batch, GENERATED)
    rows = table.to_pylist()
    for row in rows:
        if row["drop_reason"] is None:
            row["llm_output_tokens"] = 0
            if not has_source_text(row):
                row.update(drop_stage="llm", drop_reason="caption_missing", drop_detail="no caption or subcaption to generate from")
    return pa.Table.from_pylist(rows, schema=GENERATED)


def finish_batch(batch: pa.Table, *, plan: TaskPlan, label: str) -> pa.Table:
    """Provenance on every record that went through, and the judge's threshold.

    A record the engine failed on in its last pass skipped that pass's postprocess (ray.data.llm
    sends error rows past it): still unanswered here, it is dropped with the engine's error.
    """
    rows = []
    for row in batch.to_pylist():
        unanswered = [task for task in plan.tasks if row[ANSWER_COLUMN[task]] is None]
        if row["drop_reason"] is None and unanswered:
            detail = row.get(LAST_FAILURE) or plan.invalid_detail(unanswered[0], f"{ENGINE_ERROR}{row.get('__inference_error__')}", "")
            row.update(drop_stage="llm", drop_reason=failure_reason(detail), drop_detail=detail[:2000])
        elif row["drop_reason"] is None:
            row, drop = plan.finish(row, label, untrained=False)
            if drop:
                row.update(drop_stage="llm", drop_reason=drop[0], drop_detail=drop[1])
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=GENERATED)


def generate_with_processors(dataset, spec: LlmSpec, build: Callable | None = None):
    """The stage over a Ray dataset: one pass per task and attempt, then the finishing touches.

    ``build`` is ``ray.data.llm.build_processor`` for vllm unless given (tests give a stand-in engine);
    the openai backend's passes are ``chat_pass``'s.
    """
    if build is None and spec.backend == "vllm":
        from ray.data.llm import build_processor as build
    plan = TaskPlan(spec)
    if spec.backend == "openai":
        config, build = None, chat_pass(spec)
    else:
        config = vllm_processor_config(spec)
    dataset = dataset.map_batches(start_batch, batch_format="pyarrow")
    for task in plan.tasks:
        for attempt in range(1, spec.max_attempts + 1):
            processor = build(config, preprocess=Request(plan, task, attempt), postprocess=Response(plan, task, attempt))
            dataset = processor(dataset)
    label = model_label(spec.model, untrained=False)
    return dataset.map_batches(finish_batch, batch_format="pyarrow", fn_kwargs={"plan": plan, "label": label})
