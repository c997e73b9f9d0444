import json

import jsonschema
import pyarrow as pa
import pytest
from builders import context
from llm_records import llm_rows, sample_table

from schemas.records import GENERATED
from stages.llm.outputs import bounded_schema
from stages.llm.prompts import load_schema
from stages.llm.spec import LlmSpec
from stages.llm.stage import LlmStage
from stages.llm.transformers_engine import Generation

ALL_TASKS = ("recaption", "instruct", "judge")
# short strings and lists keep constrained decoding of a random model to a few hundred tokens
SMALL = {"allow_untrained": True, "tasks": ALL_TASKS, "max_text_chars": 24, "max_items": 2, "max_new_tokens": 400, "judge_min_score": 1}


def spec(model, **overrides) -> LlmSpec:
    return LlmSpec(enabled=True, model=str(model), **{**SMALL, **overrides})


def recorded(stage: LlmStage, monkeypatch) -> list[tuple[dict | None, str]]:
    """Wrap the stage's engine (shared by the worker's stages, so undone after the test) to keep every raw answer and its schema."""
    calls, generate = [], stage.engine.generate

    def spy(conversations, schema, **kwargs):
        answers = generate(conversations, schema, **kwargs)
        calls.extend((schema, answer.text) for answer in answers)
        return answers

    monkeypatch.setattr(stage.engine, "generate", spy)
    return calls


def test_constrained_answers_always_validate_and_fill_every_column(tiny_llama, monkeypatch):
    stage = LlmStage(spec(tiny_llama), context())
    calls = recorded(stage, monkeypatch)
    out = stage(sample_table())
    assert out.schema == GENERATED
    rows = out.to_pylist()
    assert len(calls) == 3 * len(rows)  # one answer per task and record, none retried
    for schema, text in calls:
        jsonschema.validate(json.loads(text), schema)
    for row in rows:
        assert row["drop_reason"] is None
        assert row["llm_recaption"] and len(row["llm_recaption"]) <= 24
        conversation = json.loads(row["llm_conversation"])
        assert conversation[0]["from"] == "human" and conversation[0]["value"].startswith("<image>\n")
        assert [turn["from"] for turn in conversation] == ["human", "gpt"] * (len(conversation) // 2)
        turns = [{"question": q["value"].removeprefix("<image>\n"), "answer": a["value"]} for q, a in zip(conversation[::2], conversation[1::2])]
        vqa = json.loads(row["llm_vqa"])
        jsonschema.validate({"conversation": turns, "vqa": vqa}, bounded_schema(load_schema("instruct"), 24, 2))
        assert 1 <= row["llm_judge_informativeness"] <= 5 and 1 <= row["llm_judge_consistency"] <= 5
        assert row["llm_prompt_versions"] == ["recaption.v1", "instruct.v1", "judge.v1"]
        assert "untrained-random" in row["llm_model"] and row["llm_untrained"] is True
        assert row["llm_output_tokens"] > 0


def test_without_the_constraint_the_random_model_fails_and_every_record_is_dropped_with_its_raw_text(tiny_llama, monkeypatch):
    stage = LlmStage(spec(tiny_llama, constrained=False, max_new_tokens=24, max_attempts=2), context())
    calls = recorded(stage, monkeypatch)
    rows = stage(sample_table()).to_pylist()
    assert len(calls) == 2 * len(rows)  # recaption tried twice per record; nothing reached the later tasks
    last_answers = [text for _, text in calls[len(rows) :]]  # the second attempt, in the records' order
    for row, raw in zip(rows, last_answers):
        assert (row["drop_stage"], row["drop_reason"]) == ("llm", "llm_output_invalid")
        assert row["drop_detail"].startswith("recaption.v1: 2 attempt(s) failed; last: ")
        assert row["drop_detail"].endswith(f"raw: {raw!r}")  # the raw text is kept
        assert row["llm_recaption"] is None


class ScriptedEngine:
    """Answers from a script: (task keyword in the schema title, attempt) -> answer text per call."""

    untrained = True
    vision = False

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def generate(self, conversations, schema, *, max_new_tokens, temperature, seed, images=None):
        self.calls.append((schema["title"], len(conversations), temperature))
        return [Generation(self.answer(schema["title"], seed, conversation), 5) for conversation in conversations]


def scripted_stage(tiny_llama, answer, **overrides) -> tuple[LlmStage, ScriptedEngine]:
    stage = LlmStage(spec(tiny_llama, **overrides), context())
    stage.engine = ScriptedEngine(answer)
    return stage, stage.engine


def test_only_failed_records_are_retried_and_a_later_attempt_can_pass(tiny_llama):
    def answer(task, seed, conversation):
        figure = conversation[-1]["content"].split("Figure: Figure ")[1][0]
        if task == "recaption":
            return "oops" if figure in "13" and seed == 1 else json.dumps({"caption": f"figure {figure}"})
        if task == "instruct":
            return json.dumps({"conversation": [{"question": "What?", "answer": "A."}], "vqa": [{"kind": "open", "question": "Q?", "answer": "A"}]})
        return json.dumps({"informativeness": 4, "consistency": 5, "reason": "ok"})

    stage, engine = scripted_stage(tiny_llama, answer)
    rows = stage(sample_table()).to_pylist()
    assert engine.calls[:2] == [("recaption", 4, 0.0), ("recaption", 2, 0.7)]  # greedy first, then sampled, failures only
    assert {row["llm_recaption"] for row in rows} == {"figure 1", "figure 2", "figure 3", "figure 4"}
    assert all(row["drop_reason"] is None for row in rows)


def test_judge_scores_below_the_minimum_drop_the_record(tiny_llama):
    def answer(task, seed, conversation):
        if task == "recaption":
            return json.dumps({"caption": "a figure"})
        if task == "instruct":
            return json.dumps({"conversation": [{"question": "What?", "answer": "A."}], "vqa": [{"kind": "open", "question": "Q?", "answer": "A"}]})
        weak = "Figure: Figure 2" in conversation[-1]["content"]
        return json.dumps({"informativeness": 2 if weak else 4, "consistency": 4, "reason": "r"})

    stage, _ = scripted_stage(tiny_llama, answer, judge_min_score=3)
    rows = {row["figure_index"]: row for row in stage(sample_table()).to_pylist()}
    assert rows[2]["drop_reason"] == "llm_judge_below_threshold" and "informativeness 2" in rows[2]["drop_detail"]
    assert rows[2]["llm_judge_informativeness"] == 2  # the scores stay on the reject
    assert all(rows[i]["drop_reason"] is None for i in (1, 3, 4))


def test_records_without_text_and_upstream_rejects(tiny_llama):
    rows = llm_rows(3)
    rows[0]["caption"] = " "
    rows[1].update(drop_stage="filters", drop_reason="image_blank", drop_detail="d")
    stage, engine = scripted_stage(tiny_llama, lambda task, seed, c: "{}", tasks=("recaption",), max_attempts=1)
    out = {row["figure_index"]: row for row in stage(sample_table(rows)).to_pylist()}
    assert out[1]["drop_reason"] == "caption_missing" and out[1]["drop_stage"] == "llm"
    assert out[2]["drop_reason"] == "image_blank"  # passed through untouched
    assert out[3]["drop_reason"] == "llm_output_invalid"
    assert engine.calls == [("recaption", 1, 0.0)]


def test_a_model_folder_without_weights_is_refused_unless_allowed(tiny_llama):
    with pytest.raises(ValueError, match="holds no weights"):
        LlmStage(spec(tiny_llama, allow_untrained=False), context())


def test_spec_checks(tiny_llama, tmp_path):
    with pytest.raises(ValueError, match="model: required"):
        LlmSpec(enabled=True)
    with pytest.raises(ValueError, match="judge scores what"):
        LlmSpec(enabled=True, model=str(tiny_llama), tasks=("judge",))
    with pytest.raises(ValueError, match=r"no prompt template .*recaption\.v7\.yaml"):
        LlmSpec(enabled=True, model=str(tiny_llama), prompt_versions={"recaption": 7})
    with pytest.raises(ValueError, match="local model folder"):
        LlmSpec(enabled=True, model="meta-llama/Llama-3.1-8B-Instruct")
    assert LlmSpec(enabled=True, model="meta-llama/Llama-3.1-8B-Instruct", backend="vllm").model == "meta-llama/Llama-3.1-8B-Instruct"


def test_the_stage_runs_as_an_actor_pool_on_local_ray(tiny_llama, ray_local):
    import ray.data

    from pipeline.plan import PlannedStage, apply_stage

    stage_spec = spec(tiny_llama, batch_size=2, concurrency=1)
    planned = PlannedStage("llm", "panel", LlmStage, stage_spec)
    dataset = apply_stage(ray.data.from_arrow(sample_table()), planned, context())
    rows = pa.concat_tables(ray.get(dataset.to_arrow_refs())).to_pylist()
    assert len(rows) == 4 and all(row["drop_reason"] is None for row in rows)
    recaption = bounded_schema(load_schema("recaption"), 24, 2)
    for row in rows:
        jsonschema.validate({"caption": row["llm_recaption"]}, recaption)
        assert json.loads(row["llm_conversation"])[0]["value"].startswith("<image>\n")
    # the same untrained model in every actor, greedy decoding: the same answers as in this process
    local = {row["sample_key"]: row["llm_recaption"] for row in LlmStage(stage_spec, context())(sample_table()).to_pylist()}
    assert {row["sample_key"]: row["llm_recaption"] for row in rows} == local
