"""Parsing and validating model answers, and turning them into record columns.

The answer of every task is one JSON object that must validate against the task's schema
(``schemas/llm/<task>.schema.json``); constrained decoding makes that the normal case, and
anything else raises ``InvalidOutput`` (retried, then dropped as ``llm_output_invalid``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema

# LLaVA-Med dropped generated turns that give away that the model read text rather than the image.
REFERS_TO_SOURCE = re.compile(r"\bthe (caption|text|context)\b", re.IGNORECASE)
IMAGE_TOKEN = "<image>"


class InvalidOutput(Exception):
    """The model's answer is empty, not JSON, or not valid for the task's schema."""


def bounded_schema(schema: dict, max_chars: int | None = None, max_items: int | None = None) -> dict:
    """``schema`` with every string's maxLength and every array's maxItems capped (short outputs for small runs)."""
    bounded = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and max_chars is not None:
                node["maxLength"] = min(node.get("maxLength", max_chars), max_chars)
                node["minLength"] = min(node.get("minLength", 0), node["maxLength"])
            if node.get("type") == "array" and max_items is not None:
                node["maxItems"] = min(node.get("maxItems", max_items), max_items)
                node["minItems"] = min(node.get("minItems", 0), node["maxItems"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(bounded)
    return bounded


def parse_output(text: str, schema: dict) -> dict:
    """The answer as a dict valid for ``schema``; ``InvalidOutput`` says why not."""
    body = text.strip()
    if body.startswith("```"):  # servers without structured outputs like to fence their JSON
        body = body.strip("`").removeprefix("json").strip()
    if not body:
        raise InvalidOutput("empty answer")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidOutput(f"not JSON: {error}") from None
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as error:
        raise InvalidOutput(f"schema: {error.message}") from None
    return value


def task_columns(task: str, answer: dict) -> dict[str, Any]:
    """The record columns a valid answer of ``task`` sets."""
    if task == "recaption":
        caption = " ".join(answer["caption"].split())
        if not caption:
            raise InvalidOutput("empty caption")
        return {"llm_recaption": caption}
    if task == "instruct":
        turns = kept_turns(answer["conversation"])
        if not turns:
            raise InvalidOutput("no conversation turn left after removing the ones that mention the caption, text or context")
        vqa = [dict(item, **pair) for item in answer["vqa"] for pair in kept_turns([item])]
        return {
            "llm_conversation": json.dumps(llava_turns(turns), ensure_ascii=False),
            "llm_vqa": json.dumps(vqa, ensure_ascii=False),
        }
    if task == "judge":
        return {"llm_judge_informativeness": answer["informativeness"], "llm_judge_consistency": answer["consistency"]}
    raise ValueError(f"unknown task {task!r}")


def kept_turns(turns: list[dict]) -> list[dict[str, str]]:
    """Question/answer pairs with whitespace normalised, minus empty ones and those that refer to the source text."""
    kept = []
    for turn in turns:
        question, answer = " ".join(turn["question"].split()), " ".join(turn["answer"].split())
        if question and answer and not REFERS_TO_SOURCE.search(question) and not REFERS_TO_SOURCE.search(answer):
            kept.append({"question": question, "answer": answer})
    return kept


def llava_turns(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """LLaVA's conversation form; the first human turn carries the image token."""
    conversation = []
    for number, turn in enumerate(turns):
        question = f"{IMAGE_TOKEN}\n{turn['question']}" if number == 0 else turn["question"]
        conversation += [{"from": "human", "value": question}, {"from": "gpt", "value": turn["answer"]}]
    return conversation


def generated_summary(row: dict) -> str:
    """What the judge scores: the recaption and the conversation of a record, as plain text."""
    parts = []
    if row.get("llm_recaption"):
        parts.append(f"Description: {row['llm_recaption']}")
    for turn in json.loads(row.get("llm_conversation") or "[]"):
        speaker = "Q" if turn["from"] == "human" else "A"
        parts.append(f"{speaker}: {turn['value'].removeprefix(IMAGE_TOKEN).strip()}")
    return "\n".join(parts)
