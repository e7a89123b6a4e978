"""One chat turn with a model: history + the new message go to an OpenAI-compatible chat-completions
endpoint, the tool calls it asks for run through MCP, their results go back, and its final answer
streams out. Bounded by MAX_TOOL_ROUNDS, CHAT_TIMEOUT_SECONDS and MAX_TOKENS.

Every step is reported through `emit` as it happens (the SSE stream, or nothing for a JSON answer);
the caller persists the turn from the `Turn` it passed in, whether the turn succeeded or not."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import openai
from openai import AsyncOpenAI

from .config import Settings
from .mcp_client import TaskTools, ToolOutcome, ToolsUnavailable
from .metrics import Metrics

log = logging.getLogger("taskflow.agent")

SYSTEM_PROMPT = (
    "You are the assistant of TaskFlow, a todo app. You manage the signed-in user's tasks with the tools "
    "you are given, and only with them: never say a task was added, changed or deleted unless a tool call "
    "did it and succeeded. Task ids come from list_tasks or add_task. When a tool reports an error, tell "
    "the user plainly. Keep answers short."
)


@dataclass(frozen=True)
class ChatEvent:
    """One server-sent event: `start`, `delta`, `tool_call`, `tool_result`, `tasks_changed`, `done` or `error`."""

    name: str
    data: dict[str, Any]


Emit = Callable[[ChatEvent], Awaitable[None]]


class TurnFailed(Exception):
    """The turn stopped before a final answer. `message` is for the user; nothing in it is secret."""

    def __init__(
        self, code: str, message: str, *, status: int = 502, retry_after: int | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        # For the log line only: what the provider or the task server said, secrets redacted.
        self.detail = detail


@dataclass
class Turn:
    """What a turn did so far; filled in as it runs, so a failed turn still says which actions happened."""

    reply: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    # Model requests made, and tool calls the model asked for (run or refused): for the turn's log line.
    rounds: int = 0
    tool_calls: int = 0


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


def make_llm(settings: Settings) -> AsyncOpenAI:
    """The process's model client (see clients.py); each request passes the turn's remaining time itself."""
    return AsyncOpenAI(
        # Local servers (Ollama, vLLM, LM Studio) take any key; the SDK insists on a non-empty one.
        api_key=settings.openai_api_key or "no-key",
        base_url=settings.openai_base_url or None,
        # No silent retries: a 429 or 5xx reaches the user with its reason, and the turn's time bound holds.
        max_retries=0,
        timeout=float(settings.chat_timeout_seconds),
    )


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _retry_after(exc: openai.APIStatusError) -> int | None:
    raw = exc.response.headers.get("retry-after", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) and seconds >= 0 else None


def _provider_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return exc.message


def provider_failure(exc: openai.OpenAIError, settings: Settings) -> TurnFailed:
    """The user-facing failure for an SDK error, with what the provider said for the log (never the key)."""
    key = settings.openai_api_key
    if isinstance(exc, openai.APITimeoutError):
        failure = TurnFailed(
            "timeout", f"The model did not answer within {settings.chat_timeout_seconds} s. Please try again.", status=504
        )
    elif isinstance(exc, openai.APIConnectionError):
        failure = TurnFailed("provider_unreachable", "The model provider cannot be reached right now. Please try again shortly.")
    elif isinstance(exc, openai.RateLimitError):
        wait = _retry_after(exc)
        when = f"in {wait} s" if wait else "in a moment"
        failure = TurnFailed(
            "rate_limited", f"The model provider is busy (rate limit reached). Please try again {when}.", status=429, retry_after=wait
        )
    elif isinstance(exc, openai.APIStatusError):
        said = redact(_provider_message(exc), key)[:300]
        if exc.status_code in (401, 403):
            failure = TurnFailed("provider_auth", f"The model provider refused the configured API key ({exc.status_code}).")
        elif exc.status_code >= 500:
            failure = TurnFailed("provider_error", f"The model provider failed ({exc.status_code}): {said}")
        else:
            failure = TurnFailed("provider_error", f"The model provider refused the request ({exc.status_code}): {said}")
    elif isinstance(exc, openai.APIError):
        failure = TurnFailed("provider_error", f"The model provider reported an error: {redact(_provider_message(exc), key)[:300]}")
    else:
        failure = TurnFailed("provider_error", "The model provider's answer could not be read.")
    status = getattr(exc, "status_code", None)
    said = redact(str(exc), key)[:500]
    failure.detail = f"status {status}: {said}" if status is not None else f"{type(exc).__name__}: {said}"
    return failure


def tools_failure(exc: ToolsUnavailable, turn: Turn) -> TurnFailed:
    """The user-facing failure when the MCP server cannot be reached or stops answering during the turn."""
    if exc.during and not exc.sent:
        # The connection was refused before the call went out: the server never saw it.
        message = f"The task server could not be reached, so {exc.during} was not carried out. Please try again shortly."
    elif exc.during:
        message = f"The task server did not answer while running {exc.during}; that action may not have been carried out."
    elif turn.actions:
        # The caller lists what was carried out after this.
        message = "The task server stopped answering. Please try again shortly."
    else:
        message = "The task server cannot be reached right now, so nothing was done. Please try again shortly."
    return TurnFailed("tools_unavailable", message, detail=str(exc))


def summarise(name: str, outcome: ToolOutcome) -> str:
    """One line for the UI saying what a tool call did."""
    if not outcome.ok:
        return outcome.text.splitlines()[0][:300] if outcome.text else "failed"
    data = outcome.data
    if isinstance(data, dict):
        if "count" in data:
            return f"{data['count']} task(s)"
        if data.get("deleted"):
            return f"deleted task #{data.get('id')}"
        if "id" in data:
            state = "done" if data.get("completed") else "open"
            return f'task #{data["id"]} "{data.get("title", "")}" ({state})'
    return "ok"


def action_of(name: str, outcome: ToolOutcome) -> dict[str, Any]:
    """The action in the shape the offline assistant reports, e.g. {"tool": "add_task", "task_id": 7, "title": ...}."""
    data = outcome.data if isinstance(outcome.data, dict) else {}
    action: dict[str, Any] = {"tool": name}
    if "count" in data:
        action["count"] = data["count"]
    if "id" in data:
        action["task_id"] = data["id"]
    if "title" in data:
        action["title"] = data["title"]
    return action


async def _model_round(
    llm: AsyncOpenAI, settings: Settings, messages: list[dict[str, Any]], specs: list[dict[str, Any]],
    deadline: float, turn: Turn, emit: Emit,
) -> tuple[str, list[_Call]]:
    """One streamed model answer: text deltas go out as they come; tool calls are assembled from their pieces."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TurnFailed("timeout", f"The model did not answer within {settings.chat_timeout_seconds} s. Please try again.", status=504)
    calls: dict[int, _Call] = {}
    text = ""
    turn.rounds += 1
    try:
        # The model's stream is cancelled at the deadline; it has no side effects, unlike a tool call.
        with anyio.fail_after(remaining):
            stream = await llm.chat.completions.create(
                model=settings.model_name,
                messages=messages,  # type: ignore[arg-type]
                tools=specs,  # type: ignore[arg-type]
                stream=True,
                max_tokens=settings.max_tokens,
                timeout=remaining,
            )
            async with stream:
                async for chunk in stream:
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    delta = choice.delta
                    if delta.content:
                        if not text and turn.reply:
                            # A new round's text follows the previous round's: keep them apart.
                            turn.reply += "\n\n"
                            await emit(ChatEvent("delta", {"text": "\n\n"}))
                        text += delta.content
                        turn.reply += delta.content
                        await emit(ChatEvent("delta", {"text": delta.content}))
                    for piece in delta.tool_calls or []:
                        call = calls.setdefault(piece.index, _Call())
                        if piece.id:
                            call.id = piece.id
                        if piece.function is not None:
                            name = piece.function.name
                            if name and name != call.name:
                                # Sent once whole by most servers; a few repeat it or split it.
                                call.name = name if not call.name else call.name + name
                            if piece.function.arguments:
                                call.arguments += piece.function.arguments
                    if choice.finish_reason == "length":
                        turn.truncated = True
    except TimeoutError:
        raise TurnFailed(
            "timeout", f"The model did not answer within {settings.chat_timeout_seconds} s. Please try again.", status=504
        ) from None
    except openai.OpenAIError as exc:
        raise provider_failure(exc, settings) from exc
    ordered = [calls[i] for i in sorted(calls)]
    for i, call in enumerate(ordered):
        call.id = call.id or f"call_{i}"
    return text, ordered


def _parse_arguments(raw: str) -> dict[str, Any] | str:
    """The arguments as an object, or why they are not one."""
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    return value


async def _run_call(call: _Call, tools: TaskTools, turn: Turn, emit: Emit, metrics: Metrics | None) -> ToolOutcome:
    turn.tool_calls += 1
    arguments = _parse_arguments(call.arguments)
    shown: Any = arguments if isinstance(arguments, dict) else call.arguments
    await emit(ChatEvent("tool_call", {"id": call.id, "name": call.name, "arguments": shown}))
    # A name the model made up is not a label value: the metric's series stay the server's tools.
    tool = call.name if tools.has(call.name) else "unknown"
    if not tools.has(call.name):
        # Never sent to the server: the model asked for something it was not offered.
        outcome = ToolOutcome(False, f"Error: there is no tool named {call.name!r}. Available tools: {', '.join(tools.names)}.")
        result = "refused"
    elif isinstance(arguments, str):
        outcome = ToolOutcome(False, f"Error: the arguments for {call.name} were {arguments}. Call it again with a JSON object.")
        result = "refused"
    else:
        try:
            outcome = await tools.call(call.name, arguments)
        except BaseException:
            if metrics is not None:
                metrics.tool_call(tool, "unavailable")
            raise
        result = "ok" if outcome.ok else "error"
    if metrics is not None:
        metrics.tool_call(tool, result)
    changed = outcome.ok and tools.changes_tasks(call.name)
    if outcome.ok:
        turn.actions.append(action_of(call.name, outcome))
    await emit(ChatEvent("tool_result", {"id": call.id, "name": call.name, "ok": outcome.ok, "summary": summarise(call.name, outcome)}))
    if changed:
        await emit(ChatEvent("tasks_changed", {"tool": call.name}))
    return outcome


async def run_turn(
    *, llm: AsyncOpenAI, tools: TaskTools, settings: Settings, history: list[dict[str, str]], message: str,
    turn: Turn, emit: Emit, metrics: Metrics | None = None,
) -> None:
    """Runs the turn to its final answer (in `turn.reply`), or raises TurnFailed with `turn` showing what happened."""
    deadline = time.monotonic() + settings.chat_timeout_seconds
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}, *history, {"role": "user", "content": message}]
    specs = tools.specs()
    for round_number in range(settings.max_tool_rounds + 1):
        asked, started = turn.rounds, time.monotonic()
        try:
            text, calls = await _model_round(llm, settings, messages, specs, deadline, turn, emit)
        except BaseException:
            if metrics is not None and turn.rounds > asked:
                metrics.model_request(False, time.monotonic() - started)
            raise
        if metrics is not None:
            metrics.model_request(True, time.monotonic() - started)
        if not calls:
            if not turn.reply.strip():
                raise TurnFailed("empty_answer", "The model gave an empty answer. Please try again.")
            return
        if round_number == settings.max_tool_rounds:
            raise TurnFailed(
                "too_many_tool_rounds",
                f"The assistant wanted more than {settings.max_tool_rounds} rounds of tool calls and was stopped.",
            )
        messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        # Malformed arguments are not echoed back: some providers refuse a history holding them.
                        "function": {"name": c.name, "arguments": c.arguments if isinstance(_parse_arguments(c.arguments), dict) else "{}"},
                    }
                    for c in calls
                ],
            }
        )
        for call in calls:
            try:
                outcome = await _run_call(call, tools, turn, emit, metrics)
            except ToolsUnavailable as exc:
                raise tools_failure(exc, turn) from exc
            messages.append({"role": "tool", "tool_call_id": call.id, "content": outcome.text})
