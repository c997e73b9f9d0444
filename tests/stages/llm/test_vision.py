"""Images into the model: the transformers backend with a tiny random LLaVA built here (a family vLLM
serves too), and the openai backend's image parts."""

import io
import json

import pytest
from llm_records import sample_table
from PIL import Image

from stages.llm.ray_llm import Request
from stages.llm.spec import LlmSpec
from stages.llm.stage import LlmStage
from stages.llm.tasks import TaskPlan
from stages.llm.tiny_model import write_tiny_llava
from stages.llm.transformers_engine import TransformersEngine, is_vision_model
from stages.runtime.context import StageContext


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    return write_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


def jpeg(colour, size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_the_image_reaches_the_model_before_the_prompt_text(tiny_llava, tiny_llama):
    assert is_vision_model(tiny_llava) and not is_vision_model(tiny_llama)
    engine = TransformersEngine(str(tiny_llava), allow_untrained=True)
    conversation = [{"role": "system", "content": "Describe."}, {"role": "user", "content": "Caption: a CT."}]
    encoded = engine._encode([conversation, conversation], [jpeg((250, 250, 250)), jpeg((10, 40, 200))])
    assert tuple(encoded["pixel_values"].shape) == (2, 3, 32, 32)
    image_token = engine.model.config.image_token_id
    for row in encoded["input_ids"].tolist():
        assert row.count(image_token) == 16  # (32 / 8)^2 patches
        assert row.index(image_token) > row.index(engine.tokenizer.convert_tokens_to_ids("<|user|>"))
    with engine.torch.inference_mode():
        logits = engine.model(**encoded).logits[:, -1]
    assert not engine.torch.allclose(logits[0], logits[1])  # the answer depends on the image
    with pytest.raises(ValueError, match="one image per conversation"):
        engine._encode([conversation], None)


def test_the_stage_answers_with_a_vision_model(tiny_llava):
    spec = LlmSpec(enabled=True, model=str(tiny_llava), allow_untrained=True, tasks=("recaption",), max_text_chars=16, max_new_tokens=64)
    rows = LlmStage(spec, StageContext())(sample_table()).to_pylist()
    assert len(rows) == 4 and all(row["drop_reason"] is None for row in rows)
    assert all(0 < len(row["llm_recaption"]) <= 16 and row["llm_model"] == f"{tiny_llava.name}@untrained-random" for row in rows)


def test_openai_vision_requests_carry_the_image_as_a_data_url():
    spec = LlmSpec(enabled=True, backend="openai", model="m", tasks=("recaption",), openai={"vision": True, "image_max_side": 64})
    row = {**sample_table().to_pylist()[0], "image": jpeg((10, 40, 200), (128, 96))}
    payload = json.loads(Request(TaskPlan(spec), "recaption", 1)(row)["payload"])
    last = payload["messages"][-1]["content"]
    assert [part["type"] for part in last] == ["image_url", "text"] and last[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert all(isinstance(message["content"], list) for message in payload["messages"])
