"""Settings of the ``llm`` stage: tasks and prompts, decoding, retries, and each backend's engine."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stages.llm.prompts import PROMPTS_DIR, TaskName, load_template
from stages.runtime.base import StageSpec


class VllmSettings(BaseModel):
    """The vLLM engine behind ``ray.data.llm`` (``vLLMEngineProcessorConfig``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one engine spans")
    max_model_len: int = Field(8192, ge=256, description="context length (prompt plus answer) the engine reserves KV cache for")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="share of each GPU's memory the engine may take")
    enable_prefix_caching: bool = Field(True, description="reuse the KV cache of the shared prompt prefix (system message and examples)")
    max_num_batched_tokens: int | None = Field(None, ge=1, description="tokens per engine step (chunked prefill); null: vLLM's default")
    accelerator_type: str | None = Field(None, description="Ray accelerator type the engines need, e.g. H100")
    vision: bool = Field(False, description="the model is a vision-language model (e.g. Qwen2.5-VL): send each image with its prompt")
    image_max_side: int = Field(768, ge=64, description="images are resized on CPU workers to this longest side before they are sent")
    engine_kwargs: dict = Field({}, description="further vLLM engine arguments, passed as they are")


class OpenAiSettings(BaseModel):
    """Any OpenAI-compatible chat completions server, through the stage's own HTTP client (``http_client.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field("http://localhost:8000/v1/chat/completions", description="the chat completions endpoint")
    api_key_env: str | None = Field(None, description="name of the environment variable holding the API key (never the key itself)")
    vision: bool = Field(False, description="send each image (resized, as a data URL) with its prompt")
    image_max_side: int = Field(768, ge=64)
    qps: float | None = Field(None, gt=0, description="requests per second per worker; null: no limit")
    max_in_flight: int = Field(8, ge=1, description="requests one worker has open at once (workers: the stage's concurrency)")
    timeout_s: float = Field(120.0, gt=0, description="one try of one request: a server that has not answered by then counts as failed")
    max_retries: int = Field(3, ge=0, le=10, description="further tries of a request on 429, 5xx, a timeout or a refused connection, with exponential backoff")
    retry_wait_s: float = Field(1.0, ge=0, description="the first backoff (doubled every try); a Retry-After header overrides it")


class LlmSpec(StageSpec):
    enabled: bool = False
    backend: Literal["transformers", "vllm", "openai"] = Field("transformers", description="who generates; see docs/llm.md")
    model: str | None = Field(None, description="a local model folder or a Hugging Face hub id (transformers: a local folder)")
    allow_untrained: bool = Field(
        False, description="transformers: a model folder without weights gets random weights (plumbing runs only; outputs are marked untrained-random)"
    )
    tasks: tuple[TaskName, ...] = Field(("recaption", "instruct"), min_length=1, description="recaption, instruct, judge (run in that order)")
    prompt_versions: dict[TaskName, int] = Field({}, description="task -> prompt version (configs/prompts/<task>.v<N>.yaml); 1 when not given")
    prompts_dir: Path | None = Field(None, description="folder of the prompt templates; null: configs/prompts of the installed checkout")
    constrained: bool = Field(True, description="constrain decoding by each task's JSON schema (false only to test the retry path)")
    max_new_tokens: int = Field(1024, ge=1, description="tokens one answer may have")
    temperature: float = Field(0.0, ge=0, description="first attempt (0: greedy)")
    retry_temperature: float = Field(0.7, gt=0, description="later attempts sample, so that they can differ from the first")
    seed: int = Field(0, description="seed of sampled attempts")
    max_attempts: int = Field(
        2, ge=1, le=5, description="attempts per task and record before it is dropped as llm_output_invalid (vllm/openai: each attempt is another processor)"
    )
    max_text_chars: int | None = Field(None, ge=1, description="cap every string's maxLength in the task schemas (short answers)")
    max_items: int | None = Field(None, ge=1, description="cap every list's maxItems in the task schemas (fewer turns)")
    judge_min_score: int = Field(3, ge=1, le=5, description="judge: drop records whose informativeness or consistency is below this")
    max_mentions: int = Field(5, ge=0, description="in-text mentions put into a prompt")
    max_source_chars: int = Field(3000, ge=100, description="longest caption, subcaption or title put into a prompt (longer ones are cut)")
    batch_size: int = 8
    concurrency: int | None = 1
    vllm: VllmSettings = VllmSettings()
    openai: OpenAiSettings = OpenAiSettings()

    @field_validator("model")
    @classmethod
    def _local_folder_absolute(cls, model: str | None) -> str | None:
        # a local folder is made absolute here, on the driver, so every worker finds the same one
        return str(Path(model).resolve()) if model and Path(model).is_dir() else model

    @model_validator(mode="after")
    def _consistent(self) -> LlmSpec:
        if not self.enabled:
            return self
        if not self.model:
            raise ValueError("model: required when the llm stage is enabled")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError("tasks: each task once")
        if self.tasks == ("judge",):
            raise ValueError("tasks: judge scores what recaption or instruct wrote; add one of them")
        for task in self.tasks:
            load_template(task, self.version_of(task), self.prompt_folder())  # a missing prompt version fails here, before the run
        if self.backend == "transformers" and not Path(self.model).is_dir():
            raise ValueError(f"model: the transformers backend needs a local model folder ({self.model} is not one)")
        return self

    def version_of(self, task: str) -> int:
        return self.prompt_versions.get(task, 1)

    def prompt_folder(self) -> Path:
        return self.prompts_dir or PROMPTS_DIR
