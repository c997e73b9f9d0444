"""An LLM that splits the captions the rules are unsure of, checked against the caption.

The model gets the caption and the labels the rules found (prompt ``subcaptions.v<N>``) and
answers ``{"subcaptions": [{"label", "text"}, ...]}`` (``schemas/llm/subcaptions.schema.json``; the
transformers backend constrains its decoding by it, a vLLM server honours it as
``response_format``). The answer is used only when it passes ``check_answer``: it parses, answers
exactly the labels the rules found, each once, and every subcaption is the caption's own words in
the caption's order (a shared opening is part of the caption too, so it passes; an added, reworded
or reordered word does not). Otherwise the rules' split stands and the reason is counted.

Backends: ``transformers`` (a local model folder, in the stage's worker, as the llm stage's
transformers backend) and ``openai`` (any OpenAI-compatible server through the llm stage's
HTTP client, so a ``vllm serve`` of a cluster's GPUs serves every CPU worker).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stages.llm.outputs import InvalidOutput, parse_output
from stages.llm.prompts import PROMPTS_DIR, load_schema, load_template

TASK = "subcaptions"
WORD = re.compile(r"\w+", re.UNICODE)


class LlmSplitSettings(BaseModel):
    """``stages.subcaptions.llm_splitter``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    backend: Literal["transformers", "openai"] = Field("transformers", description="transformers: a local folder in each worker; openai: a server (vllm serve)")
    model: str | None = Field(None, description="a local model folder (transformers), or the model name the server serves (openai)")
    allow_untrained: bool = Field(False, description="transformers: random weights for a folder without any (plumbing only)")
    url: str = Field("http://localhost:8000/v1/chat/completions", description="openai: the chat completions endpoint")
    api_key_env: str | None = Field(None, description="openai: the environment variable holding the API key")
    timeout_s: float = Field(120.0, gt=0)
    route: Literal["unsure", "all"] = Field("unsure", description="unsure: only captions whose rule split is below min_subcaption_confidence; all: every labelled caption")
    prompt_version: int = Field(1, ge=1, description="configs/prompts/subcaptions.v<N>.yaml")
    prompts_dir: Path | None = None
    max_new_tokens: int = Field(1024, ge=16)
    constrained: bool = Field(True, description="constrain decoding by the answer's JSON schema (transformers: xgrammar; openai: response_format)")

    @model_validator(mode="after")
    def _usable(self) -> "LlmSplitSettings":
        if self.enabled:
            if not self.model:
                raise ValueError("model: required when the LLM splitter is enabled")
            load_template(TASK, self.prompt_version, self.prompts_dir or PROMPTS_DIR)  # a missing prompt version fails before the run
            if self.backend == "transformers" and not Path(self.model).is_dir():
                raise ValueError(f"model: the transformers backend needs a local model folder ({self.model} is not one)")
        return self


class InvalidSplit(Exception):
    pass


def check_answer(caption: str, labels: list[str], text: str) -> dict[str, str]:
    """label -> subcaption of a valid answer; ``InvalidSplit`` says what is wrong otherwise."""
    try:
        answer = parse_output(text, load_schema(TASK))
    except InvalidOutput as error:
        raise InvalidSplit(f"not a valid answer: {error}") from error
    found: dict[str, str] = {}
    for item in answer["subcaptions"]:
        label = item["label"].strip().strip("().,:;")
        if label.lower() in {known.lower() for known in found}:
            raise InvalidSplit(f"label {label} answered twice")
        found[label] = " ".join(item["text"].split())
    wanted = {label.lower(): label for label in labels}
    if {label.lower() for label in found} != set(wanted):
        raise InvalidSplit(f"answered labels {sorted(found)}, the caption's are {labels}")
    words = _words(caption)
    for label, subcaption in found.items():
        if not _in_order(_words(subcaption), words):
            raise InvalidSplit(f"subcaption {label} is not the caption's words in order")
    return {wanted[label.lower()]: subcaption for label, subcaption in found.items()}


def _words(text: str) -> list[str]:
    return [word.lower() for word in WORD.findall(text)]


def _in_order(needle: list[str], haystack: list[str]) -> bool:
    """``needle`` is a subsequence of ``haystack`` (and not empty)."""
    remaining = iter(haystack)
    return bool(needle) and all(word in remaining for word in needle)


def routed(route: str, sure: tuple[float, list[str]] | None, min_confidence: float) -> bool:
    """Whether a labelled caption goes to the model: every one (``all``), or one whose rule split
    (``confidence.caption_confidence``) is less sure than ``min_confidence`` (``unsure``)."""
    return route == "all" or (sure is not None and sure[0] < min_confidence)


class LlmSplitter:
    """Asks the configured model for the subcaptions of one caption; None (and why) where the answer fails the check."""

    def __init__(self, settings: LlmSplitSettings):
        from stages.llm.http_client import bearer_headers

        self.settings = settings
        self.headers = bearer_headers(settings.api_key_env, "stages.subcaptions.llm_splitter.api_key_env") if settings.backend == "openai" else {}
        self.template = load_template(TASK, settings.prompt_version, settings.prompts_dir or PROMPTS_DIR)
        self.schema = load_schema(TASK)
        self.label = f"{self.template.label} ({Path(settings.model).name})"

    def messages(self, caption: str, labels: list[str]) -> list[dict[str, str]]:
        return self.template.messages({"caption": caption, "panel_labels": labels}, max_mentions=0, max_chars=6000)

    def split(self, caption: str, labels: list[str]) -> tuple[dict[str, str] | None, str]:
        """(label -> subcaption, "") when the model's answer passes the check, else (None, why)."""
        return self.split_many([(caption, labels)])[0]

    def split_many(self, captions: list[tuple[str, list[str]]], batch_size: int = 8) -> list[tuple[dict[str, str] | None, str]]:
        """``split`` of many captions: the transformers backend generates them in batches, the openai
        backend sends them at once (``batch_size`` open requests)."""
        conversations = [self.messages(caption, labels) for caption, labels in captions]
        step = batch_size if self.settings.backend == "transformers" else max(1, len(conversations))
        answers: list[tuple[str, str | None]] = []
        for start in range(0, len(conversations), step):
            answers += self._ask(conversations[start : start + step], batch_size)
        results = []
        for (caption, labels), (text, error) in zip(captions, answers):
            if error:
                results.append((None, f"no answer: {error}"))
                continue
            try:
                results.append((check_answer(caption, labels, text), ""))
            except InvalidSplit as failure:
                results.append((None, str(failure)))
        return results

    def _ask(self, conversations: list[list[dict[str, str]]], in_flight: int) -> list[tuple[str, str | None]]:
        schema = self.schema if self.settings.constrained else None
        if self.settings.backend == "transformers":
            engine = _engine(self.settings.model, self.settings.allow_untrained)
            answers = engine.generate(conversations, schema, max_new_tokens=self.settings.max_new_tokens, temperature=0.0, seed=0)
            return [(answer.text, None) for answer in answers]
        return _ask_server(self.settings, self.headers, conversations, schema, in_flight)


@lru_cache(maxsize=1)
def _engine(model: str, allow_untrained: bool):
    import torch

    from stages.llm.transformers_engine import TransformersEngine

    return TransformersEngine(model, allow_untrained, "cuda" if torch.cuda.is_available() else "cpu")


def _ask_server(settings: LlmSplitSettings, headers: dict[str, str], conversations: list[list[dict[str, str]]], schema: dict | None,
                in_flight: int) -> list[tuple[str, str | None]]:  # fmt: skip
    import asyncio

    from stages.llm.http_client import ChatClient, chat_request

    client = ChatClient(settings.url, headers, timeout_s=settings.timeout_s, max_retries=2, retry_wait_s=1.0, max_in_flight=in_flight, qps=None)
    payloads = [
        chat_request(settings.model, messages, max_tokens=settings.max_new_tokens, temperature=0.0, schema=schema, schema_name=TASK)
        for messages in conversations
    ]
    return [(answer.text, answer.error) for answer in asyncio.run(client.send_all(payloads))]
