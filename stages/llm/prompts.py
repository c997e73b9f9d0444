"""Versioned prompt templates (``configs/prompts/<task>.v<N>.yaml``) and the chat messages they render.

A template holds a system message, a user message with ``{placeholders}`` and worked examples,
rendered as earlier user/assistant turns (the assistant turns are the examples' JSON answers).
Rows and examples go through the same ``prompt_inputs``, so an example reads exactly like a real
request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

REPOSITORY = Path(__file__).resolve().parents[2]
PROMPTS_DIR = REPOSITORY / "configs" / "prompts"
SCHEMAS_DIR = REPOSITORY / "schemas" / "llm"

TaskName = Literal["recaption", "instruct", "judge"]
TASK_ORDER: tuple[str, ...] = ("recaption", "instruct", "judge")  # judge reads what the others wrote
# Templates also serve the subcaptions stage's LLM splitter, which is not a task of the llm stage.
TemplateTask = Literal["recaption", "instruct", "judge", "subcaptions"]


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: dict[str, Any]
    output: dict[str, Any]


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: TemplateTask
    version: int
    system: str
    user: str
    examples: tuple[Example, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.task}.v{self.version}"

    def messages(self, inputs: Mapping[str, Any], *, max_mentions: int, max_chars: int) -> list[dict[str, str]]:
        """System message, the worked examples as earlier turns, then the request for ``inputs``."""
        messages = [{"role": "system", "content": self.system}]
        for example in self.examples:
            messages.append({"role": "user", "content": self.user.format_map(prompt_inputs(example.input, max_mentions, max_chars))})
            messages.append({"role": "assistant", "content": json.dumps(example.output, ensure_ascii=False)})
        messages.append({"role": "user", "content": self.user.format_map(prompt_inputs(inputs, max_mentions, max_chars))})
        return messages


@lru_cache(maxsize=32)
def load_template(task: str, version: int, folder: Path = PROMPTS_DIR) -> PromptTemplate:
    path = Path(folder) / f"{task}.v{version}.yaml"
    if not path.is_file():
        raise ValueError(f"no prompt template {path}")
    template = PromptTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if (template.task, template.version) != (task, version):
        raise ValueError(f"{path} declares {template.label}, not {task}.v{version}")
    return template


@lru_cache(maxsize=8)
def load_schema(task: str) -> dict:
    return json.loads((SCHEMAS_DIR / f"{task}.schema.json").read_text(encoding="utf-8"))


def prompt_inputs(source: Mapping[str, Any], max_mentions: int, max_chars: int) -> dict[str, str]:
    """The placeholders of every template, from a record (or an example's input)."""
    mentions = source.get("mentions")  # a list, or a numpy array in a Ray Data row
    mentions = [clip_text(m, max_chars // 4) for m in ([] if mentions is None else list(mentions))[:max_mentions]]
    panel = "the whole figure"
    if source.get("panel_label") or source.get("subcaption"):
        panel = f"({source.get('panel_label') or '?'}) {clip_text(source.get('subcaption') or '(no subcaption)', max_chars)}"
    return {
        "title": clip_text(source.get("title") or "(unknown)", max_chars),
        "label": source.get("label") or "(unlabelled)",
        "caption": clip_text(source.get("caption") or "", max_chars),
        "panel": panel,
        "mentions": "\n".join(f"- {m}" for m in mentions) or "(none)",
        "generated": clip_text(source.get("generated") or "", max_chars),
        "labels": ", ".join(source.get("panel_labels") or []),
    }


def clip_text(text: str, max_chars: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
