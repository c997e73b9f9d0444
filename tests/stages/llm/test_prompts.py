"""Golden tests of prompt rendering: a change of wording must come with a new prompt version."""

import json
from pathlib import Path

import pytest

from stages.llm.prompts import PROMPTS_DIR, load_schema, load_template, prompt_inputs
from stages.llm.spec import LlmSpec
from stages.llm.tasks import TaskPlan

GOLDEN = Path(__file__).parent / "golden"
ROW = {
    "title": "Loss of Nrf2 worsens liver fibrosis",
    "label": "Figure 2",
    "caption": "Liver sections. (A) Wild type. (B) Nrf2-/- with   steatosis.",
    "panel_label": "B",
    "subcaption": "Nrf2-/- with steatosis.",
    "mentions": ["Steatosis was marked in Nrf2-/- mice (Fig. 2B).", "See Figure 2A for controls."],
    "llm_recaption": "H&E-stained liver section of an Nrf2-/- mouse with steatosis.",
    "llm_conversation": json.dumps([{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": "A liver section."}]),
}


def rendered(task: str) -> list[dict]:
    plan = TaskPlan(LlmSpec(tasks=("recaption", "instruct", "judge")))
    return plan.messages(task, ROW)


@pytest.mark.parametrize("task", ["recaption", "instruct", "judge"])
def test_rendering_matches_the_golden_file(task):
    golden = json.loads((GOLDEN / f"{task}.v1.json").read_text(encoding="utf-8"))
    assert rendered(task) == golden


@pytest.mark.parametrize("task", ["recaption", "instruct", "judge"])
def test_worked_examples_are_valid_answers(task):
    import jsonschema

    template = load_template(task, 1)
    assert template.label == f"{task}.v1" and template.examples
    for example in template.examples:
        jsonschema.validate(example.output, load_schema(task))


def test_every_template_fills_every_placeholder():
    for path in PROMPTS_DIR.glob("*.yaml"):
        task, version = path.stem.split(".v")
        template = load_template(task, int(version))
        template.user.format_map(prompt_inputs({}, 5, 100))  # raises KeyError on an unknown placeholder


def test_long_inputs_are_cut_and_mentions_capped():
    inputs = prompt_inputs({"caption": "word " * 1000, "mentions": [f"m{i}" for i in range(9)]}, max_mentions=3, max_chars=200)
    assert len(inputs["caption"]) == 200 and inputs["caption"].endswith("…")
    assert inputs["mentions"].splitlines() == ["- m0", "- m1", "- m2"]
    assert inputs["panel"] == "the whole figure" and inputs["title"] == "(unknown)"
