"""The chat client's reading of answers and of Retry-After (its requests are tested against a real
server in test_openai_server.py)."""

from stages.llm.http_client import Answer, _retry_after, answer_from


def test_an_answer_is_the_first_choice_and_its_token_count():
    body = {"choices": [{"message": {"content": '{"caption": "A CT."}'}}, {"message": {"content": "other"}}], "usage": {"completion_tokens": 7}}
    assert answer_from(body) == Answer('{"caption": "A CT."}', 7)
    assert answer_from({"choices": [{"message": {"content": None}}]}) == Answer("", 0)


def test_a_body_without_choices_is_an_error_that_quotes_it():
    answer = answer_from({"error": {"message": "model overloaded"}})
    assert answer.text == "" and "no choices" in answer.error and "model overloaded" in answer.error
    assert "no choices" in answer_from([]).error


def test_retry_after_in_seconds_is_honoured_and_bounded():
    assert _retry_after("2") == 2.0 and _retry_after("0") == 0.0 and _retry_after("86400") == 60.0
    assert _retry_after(None) is None and _retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None


def test_qps_spaces_the_requests_of_a_worker():
    import asyncio
    import time

    from stages.llm.http_client import ChatClient

    client = ChatClient("http://127.0.0.1:1/v1/chat/completions", {}, timeout_s=1, max_retries=0, retry_wait_s=0, max_in_flight=8, qps=50)

    async def five():
        await asyncio.gather(*(client._pace() for _ in range(5)))

    started = time.monotonic()
    asyncio.run(five())
    assert time.monotonic() - started >= 4 / 50  # the fifth leaves four intervals after the first
