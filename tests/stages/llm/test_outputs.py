import json

import pytest

from stages.llm.outputs import (
    InvalidOutput,
    bounded_schema,
    generated_summary,
    parse_output,
    task_columns,
)
from stages.llm.prompts import load_schema


def test_bounded_schema_caps_strings_and_lists_without_touching_the_original():
    schema = load_schema("instruct")
    bounded = bounded_schema(schema, max_chars=20, max_items=2)
    turn = bounded["properties"]["conversation"]
    assert turn["maxItems"] == 2 and turn["items"]["properties"]["answer"]["maxLength"] == 20
    assert schema["properties"]["conversation"]["maxItems"] == 6  # the loaded schema is shared: never modified
    assert bounded_schema(schema) == schema


@pytest.mark.parametrize(
    "text, message",
    [("", "empty"), ("caption: hello", "not JSON"), ('{"caption": ""}', "schema"), ('{"caption": "a", "extra": 1}', "schema")],
)
def test_invalid_answers_say_why(text, message):
    with pytest.raises(InvalidOutput, match=message):
        parse_output(text, load_schema("recaption"))


def test_fenced_json_from_a_server_without_structured_outputs_still_parses():
    assert parse_output('```json\n{"caption": "A CT scan."}\n```', load_schema("recaption")) == {"caption": "A CT scan."}


def test_a_blank_caption_is_invalid_even_when_the_schema_allows_it():
    with pytest.raises(InvalidOutput, match="empty caption"):
        task_columns("recaption", {"caption": "   "})


def test_turns_that_mention_the_caption_text_or_context_are_removed():
    answer = {
        "conversation": [
            {"question": "What does the caption say?", "answer": "It says CT."},
            {"question": "What modality is this?", "answer": "CT, as the text states."},
            {"question": "What is in the lungs?", "answer": "Ground-glass   opacities."},
            {"question": "Given the context, is it severe?", "answer": "Yes."},
        ],
        "vqa": [
            {"kind": "closed", "question": "Is this CT?", "answer": "yes"},
            {"kind": "open", "question": "What does the caption name?", "answer": "CT"},
        ],
    }
    columns = task_columns("instruct", answer)
    assert json.loads(columns["llm_conversation"]) == [
        {"from": "human", "value": "<image>\nWhat is in the lungs?"},
        {"from": "gpt", "value": "Ground-glass opacities."},
    ]
    assert json.loads(columns["llm_vqa"]) == [{"kind": "closed", "question": "Is this CT?", "answer": "yes"}]
    with pytest.raises(InvalidOutput, match="no conversation turn left"):
        task_columns("instruct", {"conversation": answer["conversation"][:2], "vqa": []})


def test_the_judge_reads_recaption_and_conversation_without_the_image_token():
    row = {"llm_recaption": "A CT.", "llm_conversation": json.dumps([{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "CT."}])}
    assert generated_summary(row) == "Description: A CT.\nQ: What?\nA: CT."
