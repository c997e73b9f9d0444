"""The ``openai`` backend's pass: chat completions requests to an OpenAI-compatible server.

Why not ``ray.data.llm``'s HTTP processor: a request that is still failing after its retries
raises there and fails the whole Ray task (and so the run); HTTP 500 is not retried; a server that
accepts the connection and never answers holds the batch for aiohttp's default five minutes per
try. Here every request is bounded by ``timeout_s``, retried with exponential backoff on 429, 5xx,
timeouts and refused connections (honouring ``Retry-After``), at most ``max_in_flight`` at once and
``qps`` a second per worker; a request that never succeeds becomes that record's failed attempt
(``__inference_error__``, as vLLM's engine stage writes it), which the stage records as a drop.
The answer lands in the columns vLLM's engine writes (``generated_text``, ``num_generated_tokens``),
so both backends share ``Response``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass

import pyarrow as pa

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
ERROR_COLUMN = "__inference_error__"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Answer:
    text: str = ""
    tokens: int = 0
    error: str | None = None


class RequestFailed(Exception):
    def __init__(self, message: str, retry: bool, wait_s: float | None = None):
        super().__init__(message)
        self.retry, self.wait_s = retry, wait_s


def chat_request(model: str, messages: list[dict], *, max_tokens: int, temperature: float, seed: int | None = None,
                 schema: dict | None = None, schema_name: str = "answer") -> str:  # fmt: skip
    """A chat completions request as JSON text; a schema goes in OpenAI's ``response_format``, which vLLM's server honours."""
    payload: dict = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
    if seed is not None:
        payload["seed"] = seed
    if schema is not None:
        payload["response_format"] = {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": True}}
    return json.dumps(payload)


def bearer_headers(api_key_env: str | None, setting: str) -> dict[str, str]:
    """The Authorization header with the key from the environment variable ``setting`` names (never the config)."""
    if not api_key_env:
        return {}
    key = os.environ.get(api_key_env)
    if not key:
        raise ValueError(f"{setting}: environment variable {api_key_env} is not set")
    return {"Authorization": f"Bearer {key}"}


def answer_from(response: dict) -> Answer:
    """The first choice's text and the completion's token count; a body without one is an error."""
    choices = response.get("choices") if isinstance(response, dict) else None
    if not choices:
        error = response.get("error") if isinstance(response, dict) else None
        return Answer(error=f"no choices in the answer: {json.dumps(error or response)[:MAX_ERROR_CHARS]}")
    text = (choices[0].get("message") or {}).get("content") or ""
    return Answer(text, int((response.get("usage") or {}).get("completion_tokens") or 0))


class ChatClient:
    """``map_batches`` callable: posts each row's ``payload`` (a JSON string) and adds the answers."""

    def __init__(self, url: str, headers: dict[str, str], *, timeout_s: float, max_retries: int, retry_wait_s: float,
                 max_in_flight: int, qps: float | None):  # fmt: skip
        self.url, self.headers = url, {"Content-Type": "application/json", **headers}
        self.timeout_s, self.max_retries, self.retry_wait_s = timeout_s, max_retries, retry_wait_s
        self.max_in_flight, self.qps = max_in_flight, qps
        self._next_send = 0.0

    def __call__(self, batch: pa.Table) -> pa.Table:
        answers = asyncio.run(self.send_all(batch.column("payload").to_pylist()))
        batch = batch.drop_columns(["payload"])
        columns = {
            "generated_text": pa.array([a.text for a in answers], pa.string()),
            "num_generated_tokens": pa.array([a.tokens for a in answers], pa.int64()),
            ERROR_COLUMN: pa.array([a.error for a in answers], pa.string()),
        }
        for name, values in columns.items():
            batch = batch.drop_columns([name]) if name in batch.column_names else batch
            batch = batch.append_column(name, values)
        return batch

    async def send_all(self, payloads: list[str]) -> list[Answer]:
        import aiohttp

        gate = asyncio.Semaphore(self.max_in_flight)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, headers=self.headers) as session:
            return await asyncio.gather(*(self.send(session, gate, payload) for payload in payloads))

    async def send(self, session, gate: asyncio.Semaphore, payload: str) -> Answer:
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                async with gate:
                    await self._pace()
                    return await self._post(session, payload)
            except RequestFailed as failure:
                last = str(failure)
                if not failure.retry or attempt == self.max_retries:
                    break
                await asyncio.sleep(failure.wait_s if failure.wait_s is not None else self.retry_wait_s * 2**attempt)
        tries = f"{attempt + 1} tr{'y' if attempt == 0 else 'ies'}"
        return Answer(error=f"server request failed after {tries}: {last}")

    async def _pace(self) -> None:
        """At most ``qps`` requests a second leave this worker."""
        if not self.qps:
            return
        now = time.monotonic()
        start = max(now, self._next_send)
        self._next_send = start + 1.0 / self.qps
        if start > now:
            await asyncio.sleep(start - now)

    async def _post(self, session, payload: str) -> Answer:
        import aiohttp

        try:
            async with session.post(self.url, data=payload) as response:
                body = await response.text()
                if response.status != 200:
                    wait = _retry_after(response.headers.get("Retry-After"))
                    raise RequestFailed(f"HTTP {response.status}: {body[:MAX_ERROR_CHARS]}", response.status in RETRY_STATUSES, wait)
        except asyncio.TimeoutError as error:
            raise RequestFailed(f"no answer within {self.timeout_s:g} s", retry=True) from error
        except aiohttp.ClientError as error:
            raise RequestFailed(f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS], retry=True) from error
        try:
            return answer_from(json.loads(body))
        except json.JSONDecodeError:
            return Answer(error=f"the answer is not JSON: {body[:MAX_ERROR_CHARS]!r}")


def _retry_after(value: str | None) -> float | None:
    try:
        return min(60.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
