"""POST /chat and the stored conversations: the task assistant, acting on the signed-in user's tasks only.

With a model provider configured (OPENAI_API_KEY or OPENAI_BASE_URL) a model answers, using the MCP
server's tools; without one the rule-based offline assistant does, and says so. A failed model call is
reported as a failure, never answered by the offline assistant instead."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from anyio.to_thread import run_sync
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..agent import ChatEvent, Emit, Turn, TurnFailed, run_turn, tools_failure
from ..chat import respond
from ..clients import AssistantClients
from ..config import Settings, assistant_misconfiguration
from ..conversations import ConversationNotFound, list_conversations, list_messages, open_conversation, recent_history, save_turn
from ..deps import DbDep, PrincipalDep, SessionFactory, SettingsDep
from ..limits import Limits, TurnRefused, drop_turn, finish_turn, limits_of, start_turn
from ..metrics import Metrics
from ..mcp_client import ToolsUnavailable, connect_tools
from ..models import ID_MAX
from ..schemas import ChatIn, ChatOut, ConversationOut, MessageOut

log = logging.getLogger("taskflow.chat")

router = APIRouter(tags=["chat"])

OFFLINE_NOTICE = "Offline assistant: no model is configured, so only simple task commands are understood."
_READ_ONLY_OFFLINE_ACTIONS = {"list_tasks"}

ConversationId = Annotated[int, Path(ge=1, le=ID_MAX, description="A conversation id from GET /conversations")]


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="Conversation not found")


def _sse(event: ChatEvent) -> bytes:
    return f"event: {event.name}\ndata: {json.dumps(event.data, ensure_ascii=False, default=str)}\n\n".encode()


class EventStream(Response):
    """A text/event-stream answer written by `run` as the turn happens.

    The turn is driven by the response itself rather than by a generator the server pulls from, so it
    runs to its end (and is stored) even when the browser goes away halfway: uvicorn drops writes to a
    closed connection instead of failing them."""

    media_type = "text/event-stream"

    def __init__(self, run: Callable[[Emit], Awaitable[None]]) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            # Proxies such as nginx would otherwise hold the events back until the turn ends.
            (b"x-accel-buffering", b"no"),
        ]
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        async def emit(event: ChatEvent) -> None:
            await send({"type": "http.response.body", "body": _sse(event), "more_body": True})

        await self._run(emit)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _ignore(_: ChatEvent) -> None:
    return None


def _failure_message(failure: TurnFailed, turn: Turn) -> str:
    if not turn.actions:
        return failure.message
    done = ", ".join(
        f"{a['tool']}" + (f" #{a['task_id']}" if "task_id" in a else "") for a in turn.actions
    )
    return f"{failure.message} Before that, these were carried out: {done}."


async def _offline_turn(db: SessionFactory, user_id: int, conversation_id: int, message: str, emit: Emit) -> dict[str, Any]:
    def work() -> tuple[str, list[dict[str, Any]]]:
        with db() as session:
            reply, actions = respond(session, user_id, message)
            save_turn(session, conversation_id, message=message, reply=reply, actions=actions, offline=True)
            return reply, actions

    reply, actions = await run_sync(work)
    for action in actions:
        if action.get("tool") not in _READ_ONLY_OFFLINE_ACTIONS:
            await emit(ChatEvent("tasks_changed", {"tool": action.get("tool")}))
    await emit(ChatEvent("delta", {"text": reply}))
    return {"reply": reply, "actions": actions}


async def _model_turn(
    settings: Settings, clients: AssistantClients, db: SessionFactory, user_id: int, conversation_id: int, message: str,
    emit: Emit, started_turn: int | None, metrics: Metrics,
) -> tuple[Turn, TurnFailed | None]:
    """Runs the turn with the model and stores it, whatever happened, then logs it. Returns the failure, if any.

    `started_turn` (the limits' record of it) is marked finished with the store, before `done` or `error` goes
    out: a user who sends the next message at once must not find this one still running."""
    turn = Turn()
    failure: TurnFailed | None = None
    started = time.monotonic()
    try:
        if assistant_misconfiguration(settings):
            raise TurnFailed("misconfigured", "The assistant is not set up completely (MCP_SHARED_SECRET is missing), so nothing was done.")
        history = await run_sync(_history, db, conversation_id, settings.max_conversation_history)
        async with connect_tools(
            clients.tool_catalog, settings.mcp_url, clients.mcp_pool, settings.mcp_shared_secret, user_id, metrics
        ) as tools:
            await run_turn(
                llm=clients.llm, tools=tools, settings=settings, history=history, message=message, turn=turn, emit=emit,
                metrics=metrics,
            )
    except TurnFailed as exc:
        failure = exc
    except ToolsUnavailable as exc:
        failure = tools_failure(exc, turn)
    except Exception as exc:
        log.exception("chat: turn failed unexpectedly")
        failure = TurnFailed("internal", "Something went wrong while answering. Please try again.", detail=type(exc).__name__)
    finally:
        partial = failure is not None and bool(turn.reply.strip())
        reply = _stored_reply(failure, turn)
        # Stored even if this request is being cancelled: the actions already happened.
        with anyio.CancelScope(shield=True):
            await run_sync(
                _store, db, conversation_id, message, reply, turn.actions, failure.code if failure else None, partial,
                started_turn,
            )
    elapsed = time.monotonic() - started
    _log_turn(failure, turn, settings, user_id, conversation_id, elapsed)
    metrics.turn(failure.code if failure else "ok", elapsed)
    return turn, failure


def _logfmt(value: object) -> str:
    """A value for a key=value log line: bare when it is one plain word, else JSON-quoted (one line, escapes shown)."""
    text = str(value)
    if text and all(c.isalnum() or c in "-_.:/@+" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def turn_log_line(
    code: str, turn: Turn, *, model: str, user_id: int, conversation_id: int, elapsed_seconds: float, detail: str | None = None
) -> str:
    """The one line a model turn leaves in the log. Ids and counts only: never a message, an email or a key."""
    fields: list[tuple[str, object]] = [
        ("code", code), ("conversation", conversation_id), ("user", user_id), ("model", model),
        ("rounds", turn.rounds), ("tool_calls", turn.tool_calls), ("elapsed_ms", round(elapsed_seconds * 1000)),
    ]
    if detail:
        fields.append(("detail", detail))
    return " ".join(f"{k}={_logfmt(v)}" for k, v in fields)


def _log_turn(
    failure: TurnFailed | None, turn: Turn, settings: Settings, user_id: int, conversation_id: int, elapsed: float
) -> None:
    line = turn_log_line(
        failure.code if failure else "ok", turn, model=settings.model_name, user_id=user_id,
        conversation_id=conversation_id, elapsed_seconds=elapsed, detail=failure.detail if failure else None,
    )
    if failure is None:
        log.info("chat turn done %s", line)
    else:
        # The access log says 200 for a streamed turn whatever became of it: this line is its outcome.
        log.warning("chat turn failed %s", line)


def _stored_reply(failure: TurnFailed | None, turn: Turn) -> str:
    """The answer, or what the user saw of a failed turn: the words streamed before it stopped, then the error."""
    if failure is None:
        return turn.reply
    if turn.reply.strip():
        return f"{turn.reply.rstrip()}\n\n{_failure_message(failure, turn)}"
    return _failure_message(failure, turn)


def _history(db: SessionFactory, conversation_id: int, limit: int) -> list[dict[str, str]]:
    with db() as session:
        return recent_history(session, conversation_id, limit)


def _store(
    db: SessionFactory, conversation_id: int, message: str, reply: str, actions: list[dict[str, Any]], error: str | None,
    partial: bool, started_turn: int | None,
) -> None:
    with db() as session:
        if started_turn is not None:
            finish_turn(session, started_turn)  # committed with the messages
        save_turn(session, conversation_id, message=message, reply=reply, actions=actions, error=error, partial=partial)


def _start_turn(db: SessionFactory, user_id: int, limits: Limits) -> int:
    with db() as session:
        return start_turn(session, user_id, limits)


def _drop_turn(db: SessionFactory, started_turn: int) -> None:
    with db() as session:
        drop_turn(session, started_turn)


def _refused(
    refused: TurnRefused, settings: Settings, user_id: int, conversation_id: int | None, metrics: Metrics
) -> JSONResponse:
    metrics.turn(refused.code)
    log.info(
        "chat turn refused code=%s conversation=%s user=%d model=%s retry_after=%d",
        refused.code, conversation_id if conversation_id is not None else "new", user_id, _logfmt(settings.model_name),
        refused.retry_after,
    )
    return JSONResponse(
        {"detail": refused.message, "code": refused.code, "retry_after": refused.retry_after},
        status_code=429,
        headers={"Retry-After": str(refused.retry_after)},
    )


def _open(db: SessionFactory, user_id: int, conversation_id: int | None, message: str) -> int:
    with db() as session:
        return open_conversation(session, user_id, conversation_id, message)


@router.post(
    "/chat",
    response_model=ChatOut,
    responses={
        401: {"description": "Not signed in"},
        404: {"description": "No such conversation of yours"},
        429: {
            "description": "Your own limit (code turn_in_progress or too_many_turns: CHAT_MAX_CONCURRENT_TURNS, "
            "CHAT_TURNS_PER_MINUTE), or the model provider's rate limit (rate_limited); Retry-After says when to try again"
        },
        502: {"description": "The model provider or the task server failed; `detail` says which and why"},
        504: {"description": "The model did not answer within CHAT_TIMEOUT_SECONDS"},
    },
    description="Answers a chat message, acting on your tasks. With `Accept: text/event-stream` the answer is a "
    "stream of server-sent events: `start`, `delta` (text), `tool_call`, `tool_result`, `tasks_changed`, then `done` "
    "or `error`. Otherwise one JSON body: the reply, the actions taken (e.g. "
    '{"tool": "add_task", "task_id": 7, "title": "buy milk"}), the conversation id to continue with, and '
    "`offline: true` when the rule-based offline assistant answered because no model is configured.",
)
async def chat(body: ChatIn, principal: PrincipalDep, db: DbDep, settings: SettingsDep, request: Request) -> Response:
    user_id = principal.user_id
    clients: AssistantClients = request.app.state.assistant
    metrics: Metrics = request.app.state.metrics
    offline = not settings.provider_configured
    limits = limits_of(settings)
    started_turn: int | None = None
    if not offline and limits.active:
        # Before anything is stored: a refused message leaves no trace in the conversation.
        try:
            started_turn = await run_sync(_start_turn, db, user_id, limits)
        except TurnRefused as refused:
            return _refused(refused, settings, user_id, body.conversation_id, metrics)
    try:
        conversation_id = await run_sync(_open, db, user_id, body.conversation_id, body.message)
    except BaseException as exc:
        if started_turn is not None:
            with anyio.CancelScope(shield=True):
                await run_sync(_drop_turn, db, started_turn)
        if isinstance(exc, ConversationNotFound):
            raise _not_found() from None
        raise
    start = ChatEvent(
        "start",
        {"conversation_id": conversation_id, "offline": offline, "model": None if offline else settings.model_name}
        | ({"notice": OFFLINE_NOTICE} if offline else {}),
    )

    if "text/event-stream" in request.headers.get("accept", ""):

        async def run(emit: Emit) -> None:
            await emit(start)
            if offline:
                try:
                    answer = await _offline_turn(db, user_id, conversation_id, body.message, emit)
                except Exception:
                    log.exception("chat: offline assistant failed")
                    await emit(ChatEvent("error", {"code": "internal", "message": "Something went wrong. Please try again.",
                                                   "conversation_id": conversation_id, "actions": []}))
                    return
                await emit(ChatEvent("done", {"conversation_id": conversation_id, "offline": True, "notice": OFFLINE_NOTICE, **answer}))
                return
            turn, failure = await _model_turn(
                settings, clients, db, user_id, conversation_id, body.message, emit, started_turn, metrics
            )
            if failure is None:
                await emit(ChatEvent("done", {"conversation_id": conversation_id, "offline": False, "reply": turn.reply,
                                              "actions": turn.actions, "truncated": turn.truncated}))
            else:
                # partial: the deltas already sent were the start of an answer that stopped; they stay shown.
                data = {"code": failure.code, "message": _failure_message(failure, turn),
                        "conversation_id": conversation_id, "actions": turn.actions, "partial": bool(turn.reply.strip())}
                if failure.retry_after is not None:
                    data["retry_after"] = failure.retry_after
                await emit(ChatEvent("error", data))

        return EventStream(run)

    if offline:
        answer = await _offline_turn(db, user_id, conversation_id, body.message, _ignore)
        return JSONResponse(
            ChatOut(conversation_id=conversation_id, offline=True, notice=OFFLINE_NOTICE, **answer).model_dump(mode="json")
        )
    turn, failure = await _model_turn(
        settings, clients, db, user_id, conversation_id, body.message, _ignore, started_turn, metrics
    )
    if failure is not None:
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
        return JSONResponse(
            {"detail": _failure_message(failure, turn), "code": failure.code, "conversation_id": conversation_id,
             "actions": turn.actions},
            status_code=failure.status,
            headers=headers,
        )
    return JSONResponse(
        ChatOut(reply=turn.reply, actions=turn.actions, conversation_id=conversation_id, offline=False).model_dump(mode="json")
    )


@router.get("/conversations", response_model=list[ConversationOut], responses={401: {"description": "Not signed in"}})
def get_conversations(principal: PrincipalDep, db: DbDep) -> list[ConversationOut]:
    """Your conversations with the assistant, most recently active first."""
    with db() as session:
        return [ConversationOut.model_validate(c) for c in list_conversations(session, principal.user_id)]


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=list[MessageOut],
    responses={401: {"description": "Not signed in"}, 404: {"description": "No such conversation of yours"}},
)
def get_messages(conversation_id: ConversationId, principal: PrincipalDep, db: DbDep) -> list[MessageOut]:
    """A conversation's messages, oldest first; another user's conversation is 404."""
    with db() as session:
        try:
            return [MessageOut.model_validate(m) for m in list_messages(session, principal.user_id, conversation_id)]
        except ConversationNotFound:
            raise _not_found() from None
