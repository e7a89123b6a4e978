"""A stand-in for an OpenAI-compatible chat-completions server (POST /v1/chat/completions), on 127.0.0.1.

It plays scripted model turns, one per request, and records every request it gets. The wire format is
the real one, so the real `openai` SDK is the client:
- streamed answers are `data: {chat.completion.chunk}` lines ending with `data: [DONE]`; the first
  chunk carries `delta.role`, text arrives as `delta.content` pieces, and a tool call arrives as
  `delta.tool_calls[i]` with `id`, `type` and `function.name` in its first piece and
  `function.arguments` split over the following ones, then a chunk with `finish_reason`
  ("stop", "tool_calls" or "length") and an empty delta (OpenAI's API reference, "The chat
  completion chunk object"; openai-python's `ChoiceDeltaToolCall` type);
- errors are `{"error": {"message", "type", "param", "code"}}` with the HTTP status the real API uses
  (OpenAI's "Error codes" guide): 401 invalid_api_key, 429 rate_limit_exceeded with Retry-After,
  500 server_error, 503 overloaded.
Anything it was not scripted for is answered 500 with a message saying so, and the test fails on it."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    name: str
    # Sent exactly as given, so a script can send arguments that are not JSON.
    arguments: str
    # How many pieces `arguments` is split into on the wire.
    pieces: int = 3


@dataclass(frozen=True)
class Reply:
    """A streamed answer: text, tool calls, or both (text first, as models do)."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    # Seconds to wait before answering at all (the headers included): a model that does not answer in time.
    delay: float = 0.0
    # Seconds to wait after the text has gone out, before anything else: a stream that stalls midway.
    stall: float = 0.0
    # Runs (in a worker thread) before the answer: something that happens elsewhere while the model thinks.
    before: Callable[[], None] | None = None


@dataclass(frozen=True)
class Failure:
    status: int
    message: str
    type: str
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Script = Reply | Failure


def text(content: str, **kw: Any) -> Reply:
    return Reply(text=content, **kw)


def call(name: str, arguments: dict[str, Any] | str, pieces: int = 3) -> ToolCall:
    return ToolCall(name, arguments if isinstance(arguments, str) else json.dumps(arguments), pieces)


def tools(*calls: ToolCall, text: str = "", **kw: Any) -> Reply:
    return Reply(text=text, tool_calls=calls, **kw)


def _split(s: str, n: int) -> list[str]:
    if not s:
        return [""]
    size = max(1, -(-len(s) // max(1, n)))
    return [s[i : i + size] for i in range(0, len(s), size)]


class FakeModel:
    def __init__(self) -> None:
        self.script: list[Script] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.unexpected: list[str] = []
        self.url = ""

    def play(self, *turns: Script) -> None:
        """Replaces the script and forgets earlier requests."""
        self.script = list(turns)
        self.requests.clear()
        self.headers.clear()
        self.unexpected.clear()

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        if not self.script:
            self.unexpected.append(f"request {len(self.requests)} with nothing scripted")
            return _error(Failure(500, "fake model: no scripted turn left", "server_error"))
        turn = self.script.pop(0)
        if isinstance(turn, Failure):
            return _error(turn)
        if turn.before is not None:
            await asyncio.to_thread(turn.before)
        if turn.delay:
            await asyncio.sleep(turn.delay)
        if not body.get("stream"):
            self.unexpected.append("a request without stream: true")
            return _error(Failure(500, "fake model: only streamed requests are scripted", "server_error"))
        return StreamingResponse(self._chunks(body.get("model", "?"), turn), media_type="text/event-stream")

    async def _chunks(self, model: str, turn: Reply) -> AsyncIterator[bytes]:
        cid = f"chatcmpl-fake{next(_ids)}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": "" if not turn.tool_calls or turn.text else None, "refusal": None})
        for piece in _split(turn.text, 4) if turn.text else []:
            yield chunk({"content": piece})
            await asyncio.sleep(0)
        if turn.stall:
            await asyncio.sleep(turn.stall)
        for i, tc in enumerate(turn.tool_calls):
            yield chunk({"tool_calls": [{"index": i, "id": f"call_{cid[-4:]}{i}", "type": "function",
                                         "function": {"name": tc.name, "arguments": ""}}]})
            for piece in _split(tc.arguments, tc.pieces):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                await asyncio.sleep(0)
        finish = turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")
        yield chunk({}, finish)
        yield b"data: [DONE]\n\n"


def _error(f: Failure) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": f.message, "type": f.type, "param": None, "code": f.code}}, status_code=f.status, headers=f.headers
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_fake_model() -> Iterator[FakeModel]:
    """Runs the fake on a free 127.0.0.1 port in a thread; `url` is its base URL, …/v1 like OpenAI's."""
    fake = FakeModel()
    app = Starlette(routes=[Route("/v1/chat/completions", fake._completions, methods=["POST"])])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="fake-model", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the fake model server did not start")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
