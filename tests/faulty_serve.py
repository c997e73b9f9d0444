"""``transformers serve`` with faults in front of it: ``python faulty_serve.py FAULTS serve ARGS...``.

The server is the real one (the same CLI, model and app); an ASGI layer answers the first chat
completions requests as the plan says (a comma list of HTTP statuses, ``hang`` or ``ok``, one per
request; then every request passes; ``always:STATUS`` or ``always:hang`` for every request; empty:
no faults). ``POST /faults`` with a plan as its body sets a new one and clears the counts, which
``GET /faults`` returns: requests, the faults injected, and the most requests open at once.
Statuses go out with ``Retry-After: 0`` so the tests do not wait.
"""

import asyncio
import json
import sys

import uvicorn


class Faults:
    def __init__(self, app, plan: str):
        self.app = app
        self.reset(plan)

    def reset(self, plan: str) -> None:
        self.always = plan.split(":", 1)[1] if plan.startswith("always:") else None
        self.queue = [] if self.always or not plan else plan.split(",")
        self.requests = self.open = self.peak = 0
        self.injected: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/faults" and scope["method"] == "POST":
            self.reset((await receive()).get("body", b"").decode())
            return await _answer(send, 200, "{}")
        if scope["type"] == "http" and scope["path"] == "/faults":
            stats = {"requests": self.requests, "injected": self.injected, "peak_open": self.peak}
            return await _answer(send, 200, json.dumps(stats))
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            return await self.app(scope, receive, send)
        self.requests += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            fault = self.always or (self.queue.pop(0) if self.queue else "ok")
            if fault == "ok":
                return await self.app(scope, receive, send)
            self.injected.append(fault)
            if fault == "hang":
                await asyncio.sleep(3600)
            return await _answer(send, int(fault), json.dumps({"error": {"message": f"injected {fault}"}}))
        finally:
            self.open -= 1


async def _answer(send, status: int, body: str) -> None:
    headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def main() -> None:
    plan = sys.argv[1]
    original = uvicorn.Config

    class FaultyConfig(original):
        def __init__(self, app, *args, **kwargs):
            super().__init__(Faults(app, plan), *args, **kwargs)

    uvicorn.Config = FaultyConfig
    sys.argv = ["transformers", *sys.argv[2:]]
    from transformers.cli.transformers import main as transformers_main

    transformers_main()


if __name__ == "__main__":
    main()
