"""The openai backend against a real OpenAI-compatible server: ``transformers serve`` on loopback.

The server loads tiny model folders written here (``served_models``): a scripted one that answers
every task with a valid answer, and a random one whose answers never validate. ``transformers
serve`` ignores ``response_format`` (it says so in its log), so with the random model the stage's
own validation and retries are what stands between noise and the dataset. Faults (429, 500, a
server that never answers) are injected in front of the real server by ``tests/faulty_serve.py``.
"""

import json
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest
from llm_records import sample_table
from served_models import ANSWERS, served, with_random_weights, write_scripted_llama

from stages.llm.ray_llm import generate_with_processors
from stages.llm.spec import LlmSpec
from stages.llm.tiny_model import write_tiny_llama, write_tiny_llava

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scripted_model(tmp_path_factory):
    return write_scripted_llama(tmp_path_factory.mktemp("scripted")).resolve()


@pytest.fixture(scope="module")
def scripted_server(scripted_model):
    with served(scripted_model, faults=True) as base:
        yield base


def set_faults(base: str, plan: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{base}/faults", data=plan.encode(), method="POST"), timeout=10)


def fault_stats(base: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{base}/faults", timeout=10).read())


def openai_spec(model: Path, base: str, **overrides) -> LlmSpec:
    settings = {"url": f"{base}/v1/chat/completions", "retry_wait_s": 0.01, **overrides.pop("openai", {})}
    return LlmSpec(enabled=True, backend="openai", model=str(model), max_new_tokens=32, batch_size=4, openai=settings, **overrides)


def run_stage(spec: LlmSpec, rows: int = 4) -> list[dict]:
    import ray

    dataset = generate_with_processors(ray.data.from_arrow(sample_table().slice(0, rows)), spec)
    return pa.concat_tables(ray.get(dataset.to_arrow_refs())).to_pylist()


def test_every_task_answered_through_the_server(scripted_model, scripted_server, ray_local):
    set_faults(scripted_server, "")
    spec = openai_spec(scripted_model, scripted_server, tasks=("recaption", "instruct", "judge"), max_attempts=1)
    rows = run_stage(spec)
    assert len(rows) == 4 and [row["drop_reason"] for row in rows] == [None] * 4
    for row in rows:
        assert row["llm_recaption"] == ANSWERS["recaption"]["caption"]
        assert json.loads(row["llm_conversation"])[1]["value"] == "A liver section."
        assert (row["llm_judge_informativeness"], row["llm_judge_consistency"]) == (4, 5)
        assert row["llm_model"] == str(scripted_model) and row["llm_output_tokens"] == 6  # one answer token + end, three tasks
        assert "generated_text" not in row and "__inference_error__" not in row
    assert fault_stats(scripted_server)["requests"] == 12  # 4 records x 3 tasks, one attempt each


def test_throttling_and_server_errors_are_retried_then_answered(scripted_model, scripted_server, ray_local):
    set_faults(scripted_server, "429,500,503,429,500")
    spec = openai_spec(scripted_model, scripted_server, tasks=("recaption",), max_attempts=1, openai={"max_retries": 3, "max_in_flight": 2})
    rows = run_stage(spec)
    assert [row["llm_recaption"] for row in rows] == [ANSWERS["recaption"]["caption"]] * 4
    stats = fault_stats(scripted_server)
    assert stats["injected"] == ["429", "500", "503", "429", "500"] and stats["requests"] == 4 + 5
    assert stats["peak_open"] <= 2


def test_a_failing_server_becomes_drops_not_a_failed_run(scripted_model, scripted_server, ray_local):
    set_faults(scripted_server, "always:500")
    spec = openai_spec(scripted_model, scripted_server, tasks=("recaption", "instruct"), max_attempts=2, openai={"max_retries": 1})
    rows = run_stage(spec)
    assert {row["drop_reason"] for row in rows} == {"llm_request_failed"}
    for row in rows:
        assert row["drop_detail"].startswith("recaption.v1: 2 attempt(s) failed; last: engine error: server request failed after 2 tries: HTTP 500")
    # every record tried recaption twice (two passes, two tries each); instruct sent only idle requests
    assert fault_stats(scripted_server)["requests"] == 4 * 2 * 2 + 4 * 2 * 2


def test_a_server_that_never_answers_is_bounded_by_the_timeout(scripted_model, scripted_server, ray_local):
    set_faults(scripted_server, "always:hang")
    spec = openai_spec(scripted_model, scripted_server, tasks=("recaption",), max_attempts=1, openai={"timeout_s": 1, "max_retries": 1})
    started = time.monotonic()
    rows = run_stage(spec, rows=2)
    assert time.monotonic() - started < 60
    assert {row["drop_reason"] for row in rows} == {"llm_request_failed"}
    assert all("no answer within 1 s" in row["drop_detail"] for row in rows)


def test_answers_the_server_does_not_constrain_are_validated_and_retried(tmp_path_factory, ray_local):
    model = with_random_weights(write_tiny_llama(tmp_path_factory.mktemp("random"))).resolve()
    with served(model) as base:
        rows = run_stage(openai_spec(model, base, tasks=("recaption",), max_attempts=2, openai={"max_retries": 0}))
    assert {row["drop_reason"] for row in rows} == {"llm_output_invalid"}
    for row in rows:
        assert row["drop_detail"].startswith("recaption.v1: 2 attempt(s) failed; last: ") and "raw: '" in row["drop_detail"]
        assert row["drop_detail"].split("raw: ", 1)[1] != "''"  # the server answered: the text is the model's noise
        assert row["llm_output_tokens"] > 0


def test_a_served_vision_model_answers_requests_with_images(tmp_path_factory, ray_local):
    """The figure goes to the server as a data URL image part, as vLLM's server takes it; a served
    LLaVA (random weights) answers every request: what fails is the noise's validation, not the request."""
    model = with_random_weights(write_tiny_llava(tmp_path_factory.mktemp("llava"))).resolve()
    with served(model) as base:
        spec = openai_spec(model, base, tasks=("recaption",), max_attempts=1, openai={"vision": True, "image_max_side": 64, "max_retries": 0})
        rows = run_stage(spec)
    assert {row["drop_reason"] for row in rows} == {"llm_output_invalid"}
    assert all(row["llm_output_tokens"] > 0 and "engine error" not in row["drop_detail"] for row in rows)
