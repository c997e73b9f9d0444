"""The vllm and openai backends: processor configs, request rows, and the chain of passes on local Ray.

vLLM is never installed in CI: the chain runs with a stand-in for ``ray.data.llm.build_processor``
whose engine is the transformers backend's, reading the same ``messages`` and ``sampling_params``
columns vLLM would. The test that needs vLLM itself is skipped where it is not importable.
"""

import base64
import io
import json

import pyarrow as pa
import pytest
from llm_records import sample_table
from PIL import Image

from stages.llm.ray_llm import (
    Request,
    Response,
    engine_kwargs,
    finish_batch,
    generate_with_processors,
    openai_payload,
    openai_headers,
    sampling_params,
    vllm_processor_config,
)
from stages.llm.spec import LlmSpec
from stages.llm.tasks import TaskPlan
from stages.llm.transformers_engine import TransformersEngine

MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


def vllm_spec(**overrides) -> LlmSpec:
    settings = {"tensor_parallel_size": 2, "max_model_len": 16384, "gpu_memory_utilization": 0.85, "vision": True, "image_max_side": 64}
    return LlmSpec(**{"enabled": True, "backend": "vllm", "model": MODEL, "batch_size": 16, "concurrency": 4, "vllm": settings, **overrides})


def test_sampling_params_carry_the_schema_as_structured_outputs():
    plan = TaskPlan(vllm_spec(max_new_tokens=512, max_text_chars=100))
    first, retry = sampling_params(plan, "recaption", 1), sampling_params(plan, "recaption", 2)
    assert json.loads(first["structured_outputs"]["json"]) == plan.schemas["recaption"]
    assert plan.schemas["recaption"]["properties"]["caption"]["maxLength"] == 100
    assert (first["max_tokens"], first["temperature"], retry["temperature"]) == (512, 0.0, 0.7)
    assert "guided_json" not in first and "guided_decoding" not in first
    assert "structured_outputs" not in sampling_params(TaskPlan(vllm_spec(constrained=False)), "recaption", 1)


def test_vllm_processor_config():
    spec = vllm_spec(vllm={"tensor_parallel_size": 2, "max_model_len": 16384, "gpu_memory_utilization": 0.85, "vision": True,
                           "max_num_batched_tokens": 8192, "engine_kwargs": {"dtype": "bfloat16"}})  # fmt: skip
    kwargs = engine_kwargs(spec)
    assert kwargs == {
        "tensor_parallel_size": 2, "max_model_len": 16384, "gpu_memory_utilization": 0.85, "enable_prefix_caching": True,
        "enable_chunked_prefill": True, "max_num_batched_tokens": 8192, "limit_mm_per_prompt": {"image": 1}, "dtype": "bfloat16",
    }  # fmt: skip
    config = vllm_processor_config(spec)
    assert config.model_source == MODEL and config.batch_size == 16 and config.concurrency == 4
    assert config.engine_kwargs["tensor_parallel_size"] == 2 and config.engine_kwargs["enable_prefix_caching"] is True
    assert config.prepare_multimodal_stage == {"enabled": True} and config.should_continue_on_error


def test_vision_requests_send_the_image_resized_before_the_text():
    spec = vllm_spec(tasks=("recaption",))
    row = sample_table().to_pylist()[0]
    row["image"] = _jpeg((300, 200))
    request = Request(TaskPlan(spec), "recaption", 1)(row)
    last = request["messages"][-1]["content"]
    assert [part["type"] for part in last] == ["image_url", "text"] and "Caption:" in last[1]["text"]
    image = Image.open(io.BytesIO(base64.b64decode(last[0]["image_url"]["url"].split(",", 1)[1])))
    assert max(image.size) == 64
    idle = Request(TaskPlan(spec), "recaption", 1)({**row, "llm_recaption": "done"})
    assert idle["sampling_params"]["max_tokens"] == 1 and set(idle["sampling_params"]) == set(request["sampling_params"])


def test_openai_headers_and_payload(monkeypatch):
    spec = LlmSpec(enabled=True, backend="openai", model="gpt-4o-mini", openai={"url": "http://127.0.0.1:8000/v1/chat/completions", "api_key_env": "FIGCURATE_TEST_KEY"})
    with pytest.raises(ValueError, match="FIGCURATE_TEST_KEY is not set"):
        openai_headers(spec)
    monkeypatch.setenv("FIGCURATE_TEST_KEY", "sk-test")
    assert openai_headers(spec) == {"Authorization": "Bearer sk-test"}
    payload = json.loads(openai_payload(TaskPlan(spec), "instruct", 1, [{"role": "user", "content": "x"}]))
    assert payload["response_format"]["json_schema"]["schema"] == TaskPlan(spec).schemas["instruct"]
    assert payload["model"] == "gpt-4o-mini" and payload["response_format"]["json_schema"]["strict"] is True
    row = {**sample_table().to_pylist()[0], "llm_output_tokens": 0, "generated_text": '{"caption": "A CT."}', "num_generated_tokens": 7}
    out = Response(TaskPlan(spec), "recaption", 1)(row)
    assert out["llm_recaption"] == "A CT." and out["llm_output_tokens"] == 7 and "generated_text" not in out


class StandInEngine:
    """Reads the columns vLLM's engine stage reads and writes the ones it writes."""

    def __init__(self, folder):
        self.engine = TransformersEngine(folder, allow_untrained=True)

    def __call__(self, row):
        params = row["sampling_params"]
        constraint = params.get("structured_outputs")
        schema = json.loads(constraint["json"]) if constraint else None
        messages = [dict(message) for message in row["messages"]]
        [answer] = self.engine.generate([messages], schema, max_new_tokens=params["max_tokens"], temperature=params["temperature"], seed=params["seed"])
        return {**row, "generated_text": answer.text, "num_generated_tokens": answer.tokens}


def stand_in_build(folder, counts):
    def build(config, preprocess, postprocess):
        counts.append((preprocess.task, preprocess.attempt))
        return lambda dataset: dataset.map(preprocess).map(StandInEngine, fn_constructor_args=(str(folder),), concurrency=1).map(postprocess)

    return build


def run_chain(tiny_llama, **overrides) -> tuple[list[dict], list]:
    import sys

    import ray
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray's workers cannot import a test module

    spec = LlmSpec(enabled=True, backend="vllm", model=str(tiny_llama), tasks=("recaption", "instruct"), max_text_chars=16, max_items=1,
                   max_new_tokens=200, **overrides)  # fmt: skip
    passes = []
    dataset = generate_with_processors(ray.data.from_arrow(sample_table()), spec, build=stand_in_build(tiny_llama, passes))
    return pa.concat_tables(ray.get(dataset.to_arrow_refs())).to_pylist(), passes


def test_the_chain_of_passes_fills_every_record(tiny_llama, ray_local):
    rows, passes = run_chain(tiny_llama)
    assert passes == [("recaption", 1), ("recaption", 2), ("instruct", 1), ("instruct", 2)]
    assert len(rows) == 4 and all(row["drop_reason"] is None for row in rows)
    for row in rows:
        assert 0 < len(row["llm_recaption"]) <= 16
        assert json.loads(row["llm_conversation"])[0]["value"].startswith("<image>\n")
        assert row["llm_prompt_versions"] == ["recaption.v1", "instruct.v1"] and row["llm_output_tokens"] > 0
        assert "llm_last_failure" not in row and "generated_text" not in row


def test_the_chain_drops_what_never_validates_with_the_raw_text(tiny_llama, ray_local):
    rows, _ = run_chain(tiny_llama, constrained=False, max_attempts=2)
    assert {row["drop_reason"] for row in rows} == {"llm_output_invalid"}
    assert all(row["drop_detail"].startswith("recaption.v1: 2 attempt(s) failed") and "raw: " in row["drop_detail"] for row in rows)


def test_a_record_the_engine_failed_on_last_is_dropped_with_the_error():
    spec = vllm_spec(tasks=("recaption",))
    rows = [{**row, "llm_output_tokens": 0, "__inference_error__": None} for row in sample_table().to_pylist()[:2]]
    rows[0].update(llm_recaption="A CT.")
    rows[1]["__inference_error__"] = "prompt longer than max_model_len"
    out = finish_batch(pa.Table.from_pylist(rows), plan=TaskPlan(spec), label=MODEL).to_pylist()
    assert out[0]["drop_reason"] is None and out[0]["llm_model"] == MODEL
    assert out[1]["drop_reason"] == "llm_request_failed" and "engine error: prompt longer" in out[1]["drop_detail"]


def test_vllm_builds_the_processor_and_its_sampling_params():
    vllm = pytest.importorskip("vllm")
    from ray.data.llm import build_processor

    spec = vllm_spec()
    plan = TaskPlan(spec)
    params = sampling_params(plan, "instruct", 1)
    structured = vllm.sampling_params.StructuredOutputsParams(**params.pop("structured_outputs"))
    sampling = vllm.SamplingParams(**params, structured_outputs=structured)
    assert json.loads(sampling.structured_outputs.json) == plan.schemas["instruct"]
    processor = build_processor(vllm_processor_config(spec), preprocess=Request(plan, "instruct", 1), postprocess=Response(plan, "instruct", 1))
    assert processor is not None


def _jpeg(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()
