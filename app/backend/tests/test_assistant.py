"""The assistant with a model: the real `openai` SDK against a scripted OpenAI-compatible server, tool calls
through the real MCP server process on the real database, answers streamed as server-sent events.

Each script names the real model behaviour it stands for."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx2
import mcp as mcp_sdk
import openai
import pytest
from assistant_support import (
    API_KEY, MCP_SECRET, McpServer, app_client, free_port, model_settings, names, one, parse_sse, run_mcp_server, stream_chat,
)
from conftest import Account, sign_up
from fake_model import Failure, FakeModel, call, serve_fake_model, text, tools
from fastapi.testclient import TestClient
from mcp_types import ListToolsResult, ToolListChangedNotification
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text as sa_text

from app.config import Settings
from app.mcp_client import TaskTools, ToolCatalog, connect_tools, make_mcp_pool

TOOL_NAMES = {"add_task", "list_tasks", "complete_task", "reopen_task", "update_task", "delete_task"}


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeModel]:
    with serve_fake_model() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeModel) -> Iterator[FakeModel]:
    """The fake model; after each test every scripted turn must have been asked for, and nothing more."""
    fake_server.play()
    yield fake_server
    assert not fake_server.unexpected, fake_server.unexpected
    assert fake_server.script == [], f"scripted turns never requested: {fake_server.script}"


@pytest.fixture(scope="module")
def mcp(client: TestClient) -> Iterator[McpServer]:
    # `client` has created the tables; the MCP server only reads and writes them.
    with run_mcp_server(os.environ["DATABASE_URL"]) as server:
        yield server


@pytest.fixture(scope="module")
def ai(app_settings: Settings, fake_server: FakeModel, mcp: McpServer) -> Iterator[TestClient]:
    """The app with a model provider configured: the fake model, the real MCP server."""
    with app_client(model_settings(app_settings, fake_server.url, mcp.url, max_conversation_history=4)) as c:
        yield c


@pytest.fixture
def alice(ai: TestClient, api: str) -> Account:
    return sign_up(ai, api, name="Alice")


@pytest.fixture
def bob(ai: TestClient, api: str) -> Account:
    return sign_up(ai, api, name="Bob")


def task_list(client: TestClient, api: str, account: Account) -> list[dict[str, Any]]:
    res = client.get(f"{api}/tasks", headers=account.headers)
    assert res.status_code == 200
    return res.json()


def tool_messages(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


class LogRecords(logging.Handler):
    """The app's log records while in use: `with LogRecords() as logs: ...`."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> LogRecords:
        logging.getLogger("taskflow").addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger("taskflow").removeHandler(self)


# ---------------------------------------------------------------------------------------------
# The agent loop


def test_a_streamed_tool_call_adds_the_task_through_mcp_and_the_answer_streams(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    fake.play(
        # OpenAI's streamed tool call: name in the first delta, the arguments JSON split over several.
        tools(call("add_task", {"title": "buy milk"}, pieces=5)),
        # Then the final answer in text deltas, after the tool result was sent back.
        text("Added “buy milk” to your list."),
    )
    events = stream_chat(ai, api, alice.headers, "please add buy milk")

    assert names(events)[:5] == ["start", "tool_call", "tool_result", "tasks_changed", "delta"]
    assert names(events)[-1] == "done"
    start = one(events, "start")
    assert start["offline"] is False and start["model"] == "fake-model"
    assert one(events, "tool_call")["name"] == "add_task"
    assert one(events, "tool_call")["arguments"] == {"title": "buy milk"}
    result = one(events, "tool_result")
    assert result["ok"] is True and "buy milk" in result["summary"]
    assert "".join(e.data["text"] for e in events if e.name == "delta") == "Added “buy milk” to your list."

    [task] = task_list(ai, api, alice)
    assert task["title"] == "buy milk" and task["completed"] is False
    done = one(events, "done")
    assert done["reply"] == "Added “buy milk” to your list."
    assert done["actions"] == [{"tool": "add_task", "task_id": task["id"], "title": "buy milk"}]
    assert done["conversation_id"] == start["conversation_id"]

    # What the model was sent: the MCP server's six tools with their own JSON Schemas, the bounds, the key.
    first, second = fake.requests
    assert first["model"] == "fake-model" and first["stream"] is True and first["max_tokens"] == 1024
    assert {t["function"]["name"] for t in first["tools"]} == TOOL_NAMES
    add = next(t["function"] for t in first["tools"] if t["function"]["name"] == "add_task")
    assert add["parameters"]["required"] == ["title"] and add["parameters"]["additionalProperties"] is False
    assert "user_id" not in json.dumps(first["tools"])
    assert fake.headers[0]["authorization"] == f"Bearer {API_KEY}"
    assert first["messages"][0]["role"] == "system" and first["messages"][-1] == {"role": "user", "content": "please add buy milk"}
    # The second request carries the call the model made and the MCP server's result.
    assistant = second["messages"][-2]
    assert assistant["tool_calls"][0]["function"] == {"name": "add_task", "arguments": '{"title": "buy milk"}'}
    assert json.loads(tool_messages(second)[0])["id"] == task["id"]


def test_without_event_stream_the_answer_is_todays_json_shape(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    fake.play(
        # A model that says something before calling a tool, as GPT-4o often does.
        tools(call("add_task", {"title": "water plants", "description": "the ferns"}), text="Sure, adding it."),
        text("Done."),
    )
    res = ai.post(f"{api}/chat", headers=alice.headers, json={"message": "add water plants"})
    assert res.status_code == 200, res.text
    body = res.json()
    [task] = task_list(ai, api, alice)
    assert task["description"] == "the ferns"
    assert body["actions"] == [{"tool": "add_task", "task_id": task["id"], "title": "water plants"}]
    assert body["reply"] == "Sure, adding it.\n\nDone."
    assert body["offline"] is False and isinstance(body["conversation_id"], int)


def test_several_rounds_of_tools_then_an_answer(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    made = ai.post(f"{api}/tasks", headers=alice.headers, json={"title": "call mum"}).json()
    fake.play(
        # A model that looks first, then acts on what it found: two tool rounds.
        tools(call("list_tasks", {})),
        tools(call("complete_task", {"task_id": made["id"]})),
        text("Marked “call mum” as done."),
    )
    events = stream_chat(ai, api, alice.headers, "I called mum")
    assert [e.data["name"] for e in events if e.name == "tool_result"] == ["list_tasks", "complete_task"]
    # Listing changes nothing; completing does.
    assert [e.data["tool"] for e in events if e.name == "tasks_changed"] == ["complete_task"]
    assert json.loads(tool_messages(fake.requests[1])[0])["count"] == 1
    assert task_list(ai, api, alice)[0]["completed"] is True
    assert [a["tool"] for a in one(events, "done")["actions"]] == ["list_tasks", "complete_task"]


def test_the_tool_rounds_are_bounded(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url, max_tool_rounds=2)) as c:
        user = sign_up(c, api)
        # A model stuck in a loop, calling list_tasks again and again.
        fake.play(tools(call("list_tasks", {})), tools(call("list_tasks", {})), tools(call("list_tasks", {})))
        events = stream_chat(c, api, user.headers, "what's up")
    error = one(events, "error")
    assert error["code"] == "too_many_tool_rounds" and "2" in error["message"]
    assert len(fake.requests) == 3 and "done" not in names(events)


# ---------------------------------------------------------------------------------------------
# Identity: the model never chooses the user


def test_one_users_chat_cannot_see_or_change_another_users_tasks(
    ai: TestClient, api: str, fake: FakeModel, alice: Account, bob: Account
) -> None:
    alices = ai.post(f"{api}/tasks", headers=alice.headers, json={"title": "alice's secret"}).json()
    fake.play(
        # A model (or a prompt injection) trying everything: list, act on someone else's id, name a user.
        tools(
            call("list_tasks", {}),
            call("complete_task", {"task_id": alices["id"]}),
            call("delete_task", {"task_id": alices["id"]}),
            call("add_task", {"title": "planted", "user_id": alice.id}),
        ),
        text("I could not find that task."),
    )
    events = stream_chat(ai, api, bob.headers, f"complete task {alices['id']}")
    results = [e.data for e in events if e.name == "tool_result"]
    assert [r["ok"] for r in results] == [True, False, False, False]
    assert results[0]["summary"] == "0 task(s)"
    assert "not found" in results[1]["summary"] and "not found" in results[2]["summary"]
    listed, completed, deleted, planted = tool_messages(fake.requests[1])
    assert json.loads(listed)["count"] == 0 and "alice's secret" not in listed
    assert "user_id" in planted and "Extra inputs are not permitted" in planted
    assert "tasks_changed" not in names(events)
    assert task_list(ai, api, alice) == [ai.get(f"{api}/tasks/{alices['id']}", headers=alice.headers).json()]
    assert task_list(ai, api, alice)[0]["completed"] is False
    assert task_list(ai, api, bob) == []


# ---------------------------------------------------------------------------------------------
# Conversations


def test_a_conversation_sends_its_stored_history_capped(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    # Plain chat turns, no tools: what a model does with "hello".
    fake.play(text("Hi!"), text("Two."), text("Three."), text("Four."))
    first = one(stream_chat(ai, api, alice.headers, "hello"), "done")
    cid = first["conversation_id"]
    stream_chat(ai, api, alice.headers, "second", conversation_id=cid)
    sent = fake.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", sent[0]["content"]), ("user", "hello"), ("assistant", "Hi!"), ("user", "second"),
    ]
    stream_chat(ai, api, alice.headers, "third", conversation_id=cid)
    stream_chat(ai, api, alice.headers, "fourth", conversation_id=cid)
    # MAX_CONVERSATION_HISTORY is 4 here: of the six stored messages only the last four go back.
    assert [(m["role"], m["content"]) for m in fake.requests[3]["messages"][1:]] == [
        ("user", "second"), ("assistant", "Two."), ("user", "third"), ("assistant", "Three."), ("user", "fourth"),
    ]

    listed = ai.get(f"{api}/conversations", headers=alice.headers).json()
    assert [(c["id"], c["title"]) for c in listed] == [(cid, "hello")]
    messages = ai.get(f"{api}/conversations/{cid}/messages", headers=alice.headers).json()
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "hello"), ("assistant", "Hi!"), ("user", "second"), ("assistant", "Two."),
        ("user", "third"), ("assistant", "Three."), ("user", "fourth"), ("assistant", "Four."),
    ]
    assert all(m["offline"] is False and m["error"] is None for m in messages)


def test_another_users_conversation_is_404(ai: TestClient, api: str, fake: FakeModel, alice: Account, bob: Account) -> None:
    fake.play(text("Hi Alice."))
    cid = one(stream_chat(ai, api, alice.headers, "hello"), "done")["conversation_id"]
    for accept in ("application/json", "text/event-stream"):
        res = ai.post(f"{api}/chat", headers={**bob.headers, "Accept": accept}, json={"message": "hi", "conversation_id": cid})
        assert res.status_code == 404 and res.json() == {"detail": "Conversation not found"}
    assert ai.get(f"{api}/conversations/{cid}/messages", headers=bob.headers).status_code == 404
    assert ai.get(f"{api}/conversations", headers=bob.headers).json() == []
    assert ai.get(f"{api}/conversations/{cid + 1000}/messages", headers=alice.headers).status_code == 404
    # Bob's attempts reached no model and wrote nothing into Alice's conversation.
    assert len(fake.requests) == 1
    assert len(ai.get(f"{api}/conversations/{cid}/messages", headers=alice.headers).json()) == 2


# ---------------------------------------------------------------------------------------------
# Failures: each is told to the user, and a task action either happened and is reported or did not happen


def test_malformed_tool_arguments_are_sent_back_to_the_model_not_to_mcp(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    fake.play(
        # A small local model cutting its JSON short (Ollama/llama3 does this).
        tools(call("add_task", '{"title": "buy milk"')),
        text("Sorry, I could not add that task."),
    )
    events = stream_chat(ai, api, alice.headers, "add buy milk")
    result = one(events, "tool_result")
    assert result["ok"] is False and "not valid JSON" in result["summary"]
    assert one(events, "tool_call")["arguments"] == '{"title": "buy milk"'
    [told] = tool_messages(fake.requests[1])
    assert "not valid JSON" in told
    # Malformed arguments are not echoed back to the provider in the history.
    assert fake.requests[1]["messages"][-2]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert task_list(ai, api, alice) == [] and "tasks_changed" not in names(events)
    assert one(events, "done")["actions"] == []


def test_a_call_to_an_unknown_tool_is_refused_without_reaching_mcp(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    fake.play(
        # A model inventing a tool it was never offered.
        tools(call("drop_all_tasks", {})),
        text("I can't do that."),
    )
    events = stream_chat(ai, api, alice.headers, "remove everything")
    result = one(events, "tool_result")
    assert result["ok"] is False and "no tool named 'drop_all_tasks'" in result["summary"]
    assert "add_task" in tool_messages(fake.requests[1])[0]
    assert one(events, "done")["reply"] == "I can't do that."


def test_a_tool_error_reaches_the_model_and_the_user(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    fake.play(
        # The model completing a task id that does not exist: the MCP server answers isError.
        tools(call("complete_task", {"task_id": 2_000_000_000})),
        text("There is no task 2000000000."),
    )
    events = stream_chat(ai, api, alice.headers, "complete task 2000000000")
    result = one(events, "tool_result")
    assert result["ok"] is False and "Task 2000000000 not found" in result["summary"]
    assert "Task 2000000000 not found" in tool_messages(fake.requests[1])[0]
    assert "tasks_changed" not in names(events) and one(events, "done")["actions"] == []


def test_model_timeout_is_reported_and_nothing_is_done(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url, chat_timeout_seconds=1)) as c:
        user = sign_up(c, api)
        # A provider that takes longer than CHAT_TIMEOUT_SECONDS to answer at all (a cold Ollama model).
        fake.play(text("too late", delay=3))
        events = stream_chat(c, api, user.headers, "add task x")
        error = one(events, "error")
        assert error["code"] == "timeout" and "1 s" in error["message"] and error["actions"] == []
        assert "done" not in names(events) and "delta" not in names(events)
        fake.play(text("too late", delay=3))
        res = c.post(f"{api}/chat", headers=user.headers, json={"message": "add task x"})
        assert res.status_code == 504 and res.json()["code"] == "timeout"
        assert task_list(c, api, user) == []


def test_rate_limit_says_when_to_retry_and_is_not_retried_silently(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    limited = Failure(
        429,
        "Rate limit reached for fake-model in organization org-test on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in 20s.",
        "requests",
        "rate_limit_exceeded",
        headers={"Retry-After": "20"},
    )
    # OpenAI's 429 answer to a request over the per-minute limit.
    fake.play(limited)
    error = one(stream_chat(ai, api, alice.headers, "hi"), "error")
    assert error["code"] == "rate_limited" and error["retry_after"] == 20 and "20 s" in error["message"]
    fake.play(limited)
    res = ai.post(f"{api}/chat", headers=alice.headers, json={"message": "hi"})
    assert res.status_code == 429 and res.headers["retry-after"] == "20" and res.json()["code"] == "rate_limited"
    assert len(fake.requests) == 1


def test_a_provider_5xx_is_an_error_not_an_offline_answer(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    # OpenAI's 503 while overloaded.
    fake.play(Failure(503, "The engine is currently overloaded, please try again later.", "server_error"))
    events = stream_chat(ai, api, alice.headers, "list my tasks")
    error = one(events, "error")
    assert error["code"] == "provider_error" and "503" in error["message"] and "overloaded" in error["message"]
    assert "delta" not in names(events) and one(events, "start")["offline"] is False
    # OpenAI's 500 on an internal failure, as JSON: 502 to the browser, and no rule-based reply in its place.
    fake.play(Failure(500, "The server had an error while processing your request. Sorry about that!", "server_error"))
    res = ai.post(f"{api}/chat", headers=alice.headers, json={"message": "list my tasks"})
    assert res.status_code == 502 and "reply" not in res.json() and "500" in res.json()["detail"]
    messages = ai.get(f"{api}/conversations/{res.json()['conversation_id']}/messages", headers=alice.headers).json()
    assert [m["error"] for m in messages] == [None, "provider_error"]


def test_a_failure_after_a_tool_ran_reports_what_was_done(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    fake.play(
        tools(call("add_task", {"title": "pay rent"})),
        # The provider failing on the follow-up request, after the task was added.
        Failure(500, "The server had an error while processing your request. Sorry about that!", "server_error"),
    )
    events = stream_chat(ai, api, alice.headers, "add pay rent")
    [task] = task_list(ai, api, alice)
    assert "tasks_changed" in names(events)
    error = one(events, "error")
    assert error["actions"] == [{"tool": "add_task", "task_id": task["id"], "title": "pay rent"}]
    assert f"add_task #{task['id']}" in error["message"]


def test_a_refused_key_is_logged_without_the_key(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    with LogRecords() as logs:
        # OpenAI's 401 echoes the key it got (masked); this one echoes it whole, which is harsher.
        fake.play(Failure(401, f"Incorrect API key provided: {API_KEY}.", "invalid_request_error", "invalid_api_key"))
        error = one(stream_chat(ai, api, alice.headers, "hi"), "error")
    assert error["code"] == "provider_auth" and API_KEY not in json.dumps(error)
    logged = "\n".join(r.getMessage() for r in logs.records)
    assert "chat turn failed code=provider_auth" in logged and "status 401" in logged
    assert "Incorrect API key provided: ***" in logged
    assert API_KEY not in logged


def test_an_unreachable_mcp_server_is_an_error_and_nothing_is_asked_of_the_model(
    app_settings: Settings, api: str, fake: FakeModel
) -> None:
    with app_client(model_settings(app_settings, fake.url, "http://127.0.0.1:1/mcp")) as c:
        user = sign_up(c, api)
        error = one(stream_chat(c, api, user.headers, "add task x"), "error")
    assert error["code"] == "tools_unavailable" and fake.requests == []


def test_an_mcp_server_that_dies_mid_turn_is_tools_unavailable_and_the_next_turn_reconnects(
    app_settings: Settings, api: str, fake: FakeModel, client: TestClient
) -> None:
    # `client` has created the tables, which the MCP server needs to be healthy.
    port = free_port()
    with run_mcp_server(os.environ["DATABASE_URL"], port) as dying:
        with app_client(model_settings(app_settings, fake.url, dying.url)) as c:
            user = sign_up(c, api)
            fake.play(
                tools(call("list_tasks", {})),
                # The MCP pod restarting while the model thinks: its connections are gone when add_task is sent.
                tools(call("add_task", {"title": "water plants"}), before=dying.stop),
            )
            with LogRecords() as logs:
                events = stream_chat(c, api, user.headers, "add water plants")
            error = one(events, "error")
            assert error["code"] == "tools_unavailable", error
            # Refused before it was sent: the server never saw it, so the user is told it did not happen.
            assert "add_task was not carried out" in error["message"] and "may not" not in error["message"]
            assert error["actions"] == [{"tool": "list_tasks", "count": 0}]
            assert "done" not in names(events) and "Traceback" not in json.dumps(error)
            assert not [r for r in logs.records if r.exc_info], [r.getMessage() for r in logs.records]
            stored = c.get(f"{api}/conversations/{error['conversation_id']}/messages", headers=user.headers).json()
            assert [m["error"] for m in stored] == [None, "tools_unavailable"]

            # Back where the backend looks for it: the shared pool does not hand out the dead connections.
            with run_mcp_server(os.environ["DATABASE_URL"], port):
                fake.play(tools(call("add_task", {"title": "water plants"})), text("Added it."))
                res = c.post(f"{api}/chat", headers=user.headers, json={"message": "add water plants"})
                assert res.status_code == 200, res.text
                assert [t["title"] for t in task_list(c, api, user)] == ["water plants"]


@pytest.fixture
def failing_mcp_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MCP session fails on closing, as the SDK's does when one of its requests failed in its own task."""
    closing = mcp_sdk.Client.__aexit__

    async def failing_close(self: mcp_sdk.Client, *exc: Any) -> None:
        await closing(self, *exc)
        raise ExceptionGroup("unhandled errors in a TaskGroup", [httpx2.ReadError("connection reset by peer")])

    monkeypatch.setattr(mcp_sdk.Client, "__aexit__", failing_close)


@pytest.mark.usefixtures("failing_mcp_close")
def test_a_failure_while_closing_the_mcp_session_after_a_completed_turn_keeps_the_answer(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    # Every call was answered, so nothing is in doubt: the answer stands and the close is only logged.
    fake.play(tools(call("list_tasks", {})), text("Nothing on your list."), tools(call("list_tasks", {})), text("Still nothing."))
    with LogRecords() as logs:
        events = stream_chat(ai, api, alice.headers, "what is on my list?")
        res = ai.post(f"{api}/chat", headers=alice.headers, json={"message": "what is on my list?"})
    assert "error" not in names(events) and "done" in names(events), names(events)
    assert one(events, "done")["reply"] == "Nothing on your list."
    assert res.status_code == 200 and "Still nothing." in res.text, res.text
    logged = [r.getMessage() for r in logs.records]
    assert any("closing the connection failed after a completed turn" in m and "ReadError" in m for m in logged), logged
    assert not [r for r in logs.records if r.exc_info], logged
    assert "turn failed unexpectedly" not in "\n".join(logged)


@pytest.mark.usefixtures("failing_mcp_close")
def test_a_turn_cancelled_from_outside_stays_cancelled_when_closing_the_mcp_session_fails(mcp: McpServer) -> None:
    async def cancelled_turn() -> None:
        pool = make_mcp_pool()
        connected = asyncio.Event()

        async def turn() -> None:
            async with connect_tools(ToolCatalog(), mcp.url, pool, MCP_SECRET, 1):
                connected.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(turn())
        try:
            await asyncio.wait_for(connected.wait(), 15)
            task.cancel()
            # Not turned into ToolsUnavailable: whoever cancelled the turn (a shutdown) sees it end cancelled.
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await pool.aclose()

    asyncio.run(cancelled_turn())


# ---------------------------------------------------------------------------------------------
# The process's clients: made once and shared by every turn, with nothing of one user's turn in another's


def test_turns_reuse_the_one_model_client_and_mcp_pool_made_at_startup(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: Counter[str] = Counter()
    for cls in (openai.AsyncOpenAI, httpx2.AsyncHTTPTransport):
        init = cls.__init__

        def counted(self: Any, *args: Any, __init: Any = init, __name: str = cls.__name__, **kwargs: Any) -> None:
            made[__name] += 1
            __init(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counted)
    with app_client(model_settings(app_settings, fake.url, mcp.url)) as c:
        at_startup = made.copy()
        llm = c.app.state.assistant.llm
        user = sign_up(c, api)
        fake.play(tools(call("list_tasks", {})), text("Nothing yet."), tools(call("add_task", {"title": "a"})), text("Added."))
        assert one(stream_chat(c, api, user.headers, "what is on my list?"), "done")["reply"] == "Nothing yet."
        res = c.post(f"{api}/chat", headers=user.headers, json={"message": "add a"})
        assert res.status_code == 200 and res.json()["reply"] == "Added.", res.text
        assert made == at_startup and at_startup["AsyncOpenAI"] == 1, (at_startup, made)
    assert llm.is_closed()


def test_concurrent_turns_of_two_users_each_reach_mcp_as_their_own_user(
    ai: TestClient, api: str, fake: FakeModel, alice: Account, bob: Account
) -> None:
    ai.post(f"{api}/tasks", headers=alice.headers, json={"title": "alice's task"})
    for title in ("bob's task", "bob's other task"):
        ai.post(f"{api}/tasks", headers=bob.headers, json={"title": title})
    # Neither model answer goes out before both turns have asked: both MCP connections are open at once over
    # the shared pool, and the two list_tasks calls run side by side.
    both_asked = threading.Barrier(2, timeout=15)
    fake.play(
        tools(call("list_tasks", {}), before=both_asked.wait),
        tools(call("list_tasks", {}), before=both_asked.wait),
        text("Here is your list."),
        text("Here is your list."),
    )
    with ThreadPoolExecutor(2) as pool:
        turns = {who.name: pool.submit(stream_chat, ai, api, who.headers, "what is on my list?") for who in (alice, bob)}
        done = {name: one(turn.result(), "done") for name, turn in turns.items()}
    assert done["Alice"]["actions"] == [{"tool": "list_tasks", "count": 1}]
    assert done["Bob"]["actions"] == [{"tool": "list_tasks", "count": 2}]
    listed = sorted(
        sorted(t["title"] for t in json.loads(m)["tasks"]) for r in fake.requests for m in tool_messages(r)
    )
    assert listed == [["alice's task"], ["bob's other task", "bob's task"]]


# ---------------------------------------------------------------------------------------------
# Offline


def test_offline_assistant_says_so_in_the_stream(client: TestClient, api: str, user: Account) -> None:
    events = parse_sse(
        client.post(
            f"{api}/chat", headers={**user.headers, "Accept": "text/event-stream"}, json={"message": "add task buy bread"}
        ).text
    )
    assert names(events) == ["start", "tasks_changed", "delta", "done"]
    assert one(events, "start")["offline"] is True and "Offline assistant" in one(events, "start")["notice"]
    done = one(events, "done")
    assert done["offline"] is True and done["actions"][0]["tool"] == "add_task" and done["reply"].startswith("Added task")
    stored = client.get(f"{api}/conversations/{done['conversation_id']}/messages", headers=user.headers).json()
    assert [(m["role"], m["offline"]) for m in stored] == [("user", True), ("assistant", True)]


def test_an_answer_cut_at_max_tokens_is_marked_truncated(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    # A model that hit max_tokens mid-sentence: finish_reason "length".
    fake.play(text("Here is a very long", finish_reason="length"))
    done = one(stream_chat(ai, api, alice.headers, "tell me everything"), "done")
    assert done["truncated"] is True and done["reply"] == "Here is a very long"


def test_a_provider_without_the_mcp_secret_starts_but_every_message_says_what_is_missing(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    # An OPENAI_API_KEY given to a deployment that does not pass MCP_SHARED_SECRET to the backend yet.
    with app_client(model_settings(app_settings, fake.url, mcp.url, mcp_shared_secret="")) as c:
        user = sign_up(c, api)
        error = one(stream_chat(c, api, user.headers, "add task x"), "error")
        res = c.post(f"{api}/chat", headers=user.headers, json={"message": "add task x"})
    assert error["code"] == "misconfigured" and "MCP_SHARED_SECRET" in error["message"]
    assert res.status_code == 502 and res.json()["code"] == "misconfigured"
    assert fake.requests == []


# ---------------------------------------------------------------------------------------------
# What a turn leaves behind: one log line, with numbers and ids, never the words


def turn_lines(logs: LogRecords, level: int) -> list[str]:
    return [r.getMessage() for r in logs.records if r.levelno == level and r.getMessage().startswith("chat turn ")]


def test_each_failed_turn_logs_one_warning_line_with_its_numbers_and_no_text(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    words = "remind me about the surprise party for Ann"
    with app_client(model_settings(app_settings, fake.url, mcp.url, chat_timeout_seconds=2, max_tool_rounds=1)) as c:
        user = sign_up(c, api)
        cases = [
            # A provider that does not answer in time (a cold Ollama model): 200 in the access log, an error event.
            ("timeout", [text("too late", delay=4)], 1, 0),
            # A model stuck calling list_tasks, past MAX_TOOL_ROUNDS (1 here).
            ("too_many_tool_rounds", [tools(call("list_tasks", {})), tools(call("list_tasks", {}))], 2, 1),
            # A small local model that finishes with no words at all.
            ("empty_answer", [text("")], 1, 0),
        ]
        for code, script, rounds, tool_calls in cases:
            fake.play(*script)
            with LogRecords() as logs:
                error = one(stream_chat(c, api, user.headers, words), "error")
            assert error["code"] == code
            [line] = turn_lines(logs, logging.WARNING)
            assert re.fullmatch(
                rf"chat turn failed code={code} conversation={error['conversation_id']} user={user.id} model=fake-model "
                rf"rounds={rounds} tool_calls={tool_calls} elapsed_ms=\d+",
                line,
            ), line
            warnings = [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]
            assert warnings == [line], warnings
            for never in ("surprise", "Ann", user.email, API_KEY, MCP_SECRET):
                assert never not in line
        assert int(line.rsplit("=", 1)[1]) < 2000
        # The timeout's own line says how long the turn took.
        fake.play(text("too late", delay=4))
        with LogRecords() as logs:
            res = c.post(f"{api}/chat", headers=user.headers, json={"message": words})
        assert res.status_code == 504
        [line] = turn_lines(logs, logging.WARNING)
        assert int(line.rsplit("elapsed_ms=", 1)[1]) >= 2000


def test_a_provider_failure_is_one_line_with_what_the_provider_said(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    fake.play(Failure(503, "The engine is currently overloaded, please try again later.", "server_error"))
    with LogRecords() as logs:
        stream_chat(ai, api, alice.headers, "list my tasks")
    [line] = [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]
    assert line.startswith(f"chat turn failed code=provider_error conversation=") and f"user={alice.id} " in line
    assert 'detail="status 503: ' in line and "overloaded" in line


def test_a_turn_that_ends_well_logs_one_info_line(ai: TestClient, api: str, fake: FakeModel, alice: Account) -> None:
    fake.play(tools(call("list_tasks", {})), text("Nothing on your list."))
    with LogRecords() as logs:
        done = one(stream_chat(ai, api, alice.headers, "what is on my list?"), "done")
    [line] = turn_lines(logs, logging.INFO)
    assert re.fullmatch(
        rf"chat turn done code=ok conversation={done['conversation_id']} user={alice.id} model=fake-model "
        r"rounds=2 tool_calls=1 elapsed_ms=\d+",
        line,
    ), line
    assert not [r for r in logs.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------------------------
# What the user saw is what is stored


def test_a_stream_that_stalls_after_some_words_keeps_them_with_the_error(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url, chat_timeout_seconds=2)) as c:
        user = sign_up(c, api)
        # A provider whose stream stops mid-sentence and never finishes (an overloaded vLLM, a dropped proxy).
        fake.play(text("You have three tasks: buy milk, call", stall=5))
        events = stream_chat(c, api, user.headers, "what is on my list?")
        shown = "".join(e.data["text"] for e in events if e.name == "delta")
        assert shown == "You have three tasks: buy milk, call"
        error = one(events, "error")
        assert error["code"] == "timeout" and error["partial"] is True
        stored = c.get(f"{api}/conversations/{error['conversation_id']}/messages", headers=user.headers).json()
        assert [(m["role"], m["error"], m["partial"]) for m in stored] == [("user", None, False), ("assistant", "timeout", True)]
        assert stored[1]["content"] == f"{shown}\n\n{error['message']}"

        # A turn that failed before any words keeps only the error, as before, and is not partial.
        fake.play(text("too late", delay=4))
        error = one(stream_chat(c, api, user.headers, "and now?", conversation_id=error["conversation_id"]), "error")
        assert error["partial"] is False
        stored = c.get(f"{api}/conversations/{error['conversation_id']}/messages", headers=user.headers).json()
        assert (stored[-1]["content"], stored[-1]["error"], stored[-1]["partial"]) == (error["message"], "timeout", False)


def test_words_said_before_a_failed_tool_round_are_kept_as_partial(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    fake.play(
        # A model that announces what it is doing, then the provider fails on the follow-up request.
        tools(call("list_tasks", {}), text="Let me look at your list."),
        Failure(500, "The server had an error while processing your request. Sorry about that!", "server_error"),
    )
    error = one(stream_chat(ai, api, alice.headers, "what is on my list?"), "error")
    assert error["partial"] is True
    [_, answer] = ai.get(f"{api}/conversations/{error['conversation_id']}/messages", headers=alice.headers).json()
    assert answer["partial"] is True and answer["error"] == "provider_error"
    assert answer["content"].startswith("Let me look at your list.\n\n") and answer["content"].endswith(error["message"])
    assert answer["actions"] == [{"tool": "list_tasks", "count": 0}]


# ---------------------------------------------------------------------------------------------
# The tool list is learnt once per process: a turn that only talks makes no MCP request


def mcp_posts(server: McpServer) -> int:
    """Requests the MCP server has answered so far, from its own access log (uvicorn's, one line each)."""
    return server.log_text().count('"POST /mcp HTTP/1.1"')


def test_a_text_turn_makes_no_mcp_request_and_a_tool_turn_one_per_call(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url)) as c:
        user = sign_up(c, api)
        asked: list[int] = []
        for script, message in [
            # The process's first turn learns the server's protocol and its tools: server/discover, tools/list.
            ((text("Hello!"),), "hello"),
            # A model that only talks, streamed and as JSON.
            ((text("Hi again."),), "hi"),
            ((text("Still here."),), "json"),
            # Two tool calls in one answer, then the words.
            ((tools(call("list_tasks", {}), call("add_task", {"title": "buy milk"})), text("Added it.")), "add buy milk"),
            ((tools(call("list_tasks", {})), text("One task.")), "json"),
        ]:
            fake.play(*script)
            before = mcp_posts(mcp)
            if message == "json":
                res = c.post(f"{api}/chat", headers=user.headers, json={"message": "and now?"})
                assert res.status_code == 200, res.text
            else:
                assert "done" in names(stream_chat(c, api, user.headers, message))
            asked.append(mcp_posts(mcp) - before)
            # Every model request is still offered the server's six tools.
            assert all({t["function"]["name"] for t in r["tools"]} == TOOL_NAMES for r in fake.requests)
        assert asked == [2, 0, 0, 2, 1], asked
        assert [t["title"] for t in task_list(c, api, user)] == ["buy milk"]


def test_a_call_the_server_answers_unknown_tool_makes_the_next_turn_list_the_tools_again(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url)) as c:
        user = sign_up(c, api)
        fake.play(text("Hello!"))
        stream_chat(c, api, user.headers, "hello")
        # As after an upgrade of the MCP server that dropped a tool this process had listed before it.
        catalog: ToolCatalog = c.app.state.assistant.tool_catalog
        known = catalog.known
        assert known is not None
        dropped = next(t for t in known.listing.tools if t.name == "delete_task").model_copy(update={"name": "archive_task"})
        catalog.learn(known.discover, ListToolsResult(tools=[*known.listing.tools, dropped]))

        fake.play(tools(call("archive_task", {"task_id": 1})), text("I could not archive it."))
        events = stream_chat(c, api, user.headers, "archive task 1")
        result = one(events, "tool_result")
        assert result["ok"] is False and "Unknown tool" in result["summary"], result
        assert "archive_task" in {t["function"]["name"] for t in fake.requests[0]["tools"]}

        fake.play(text("Hello again."))
        before = mcp_posts(mcp)
        stream_chat(c, api, user.headers, "hello")
        assert mcp_posts(mcp) - before == 2
        assert {t["function"]["name"] for t in fake.requests[0]["tools"]} == TOOL_NAMES


def test_a_tools_changed_notification_makes_the_next_turn_list_the_tools_again() -> None:
    async def notified() -> ToolCatalog:
        pool = make_mcp_pool()
        try:
            catalog = ToolCatalog()
            catalog.learn(None, ListToolsResult(tools=[]))
            # What the SDK hands the session's message handler for notifications/tools/list_changed.
            await TaskTools(catalog, "http://127.0.0.1:1/mcp", pool, MCP_SECRET, 1)._on_message(ToolListChangedNotification())
            return catalog
        finally:
            await pool.aclose()

    assert asyncio.run(notified()).known is None


def test_with_the_task_server_down_a_text_turn_answers_and_a_refused_call_is_said_not_to_have_run(
    app_settings: Settings, api: str, fake: FakeModel, client: TestClient
) -> None:
    with run_mcp_server(os.environ["DATABASE_URL"]) as server, app_client(model_settings(app_settings, fake.url, server.url)) as c:
        user = sign_up(c, api)
        fake.play(text("Hello!"))
        stream_chat(c, api, user.headers, "hello")
        server.stop()
        # The tools are known already, so words need no task server.
        fake.play(text("Still here."))
        assert one(stream_chat(c, api, user.headers, "are you there?"), "done")["reply"] == "Still here."
        # A call cannot even connect: it never reached the server, so it did not happen, and the user is told so.
        fake.play(tools(call("add_task", {"title": "water plants"})))
        error = one(stream_chat(c, api, user.headers, "add water plants"), "error")
        assert error["code"] == "tools_unavailable" and error["actions"] == []
        assert "add_task was not carried out" in error["message"] and "may not" not in error["message"], error
        assert task_list(c, api, user) == []


def test_a_tool_argument_error_tells_the_model_the_field_and_the_rule_not_the_input(
    ai: TestClient, api: str, fake: FakeModel, alice: Account
) -> None:
    title = "secret-agenda-" + "x" * 200
    fake.play(
        # A model that writes a whole paragraph as the title: the MCP server's schema refuses it.
        tools(call("add_task", {"title": title})),
        text("That title is too long."),
    )
    result = one(stream_chat(ai, api, alice.headers, "add my agenda"), "tool_result")
    [told] = tool_messages(fake.requests[1])
    assert result["ok"] is False and "title" in told and "String should have at most 200 characters" in told, told
    assert "input_value" not in told and "secret-agenda" not in told and "secret-agenda" not in result["summary"]


# ---------------------------------------------------------------------------------------------
# Fair use: one user cannot keep the model busy for everyone


def test_a_message_sent_while_the_previous_one_is_answered_is_refused_with_429(
    ai: TestClient, api: str, fake: FakeModel, alice: Account, bob: Account
) -> None:
    asked, release = threading.Event(), threading.Event()

    def hold() -> None:
        asked.set()
        release.wait(15)

    # A model that takes its time over Alice's first message (CHAT_MAX_CONCURRENT_TURNS is 1 by default).
    fake.play(text("First answer.", before=hold), text("Bob's answer."), text("Second answer."))
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(stream_chat, ai, api, alice.headers, "first")
        assert asked.wait(15)
        for accept in ("application/json", "text/event-stream"):
            res = ai.post(f"{api}/chat", headers={**alice.headers, "Accept": accept}, json={"message": "second"})
            assert res.status_code == 429 and res.headers["retry-after"] == "5", res.text
            body = res.json()
            assert body["code"] == "turn_in_progress" and body["retry_after"] == 5
            assert "still answering your previous message" in body["detail"]
        # Another user is not held up by Alice's turn.
        assert one(stream_chat(ai, api, bob.headers, "hi"), "done")["reply"] == "Bob's answer."
        release.set()
        assert one(first.result(), "done")["reply"] == "First answer."
    # The next message goes through the moment the answer is in: the turn ends before `done` goes out.
    res = ai.post(f"{api}/chat", headers=alice.headers, json={"message": "second"})
    assert res.status_code == 200 and res.json()["reply"] == "Second answer.", res.text
    assert len(fake.requests) == 3
    # The refused messages were never stored.
    conversations = ai.get(f"{api}/conversations", headers=alice.headers).json()
    assert sorted(c["title"] for c in conversations) == ["first", "second"]


def test_the_running_turn_limit_holds_across_replicas(
    app_settings: Settings, ai: TestClient, api: str, fake: FakeModel, mcp: McpServer, alice: Account
) -> None:
    asked, release = threading.Event(), threading.Event()

    def hold() -> None:
        asked.set()
        release.wait(15)

    fake.play(text("First answer.", before=hold))
    # A second backend process on the same database, as a second pod behind the Service.
    with app_client(model_settings(app_settings, fake.url, mcp.url)) as other, ThreadPoolExecutor(1) as pool:
        first = pool.submit(stream_chat, ai, api, alice.headers, "first")
        assert asked.wait(15)
        res = other.post(f"{api}/chat", headers=alice.headers, json={"message": "second"})
        release.set()
        assert res.status_code == 429 and res.json()["code"] == "turn_in_progress", res.text
        first.result()


def test_more_turns_in_a_minute_than_allowed_are_refused_with_when_to_retry(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url, chat_turns_per_minute=2)) as c:
        user = sign_up(c, api)
        fake.play(text("One."), text("Two."))
        with LogRecords() as logs:
            for n in ("one", "two"):
                assert c.post(f"{api}/chat", headers=user.headers, json={"message": n}).status_code == 200
            res = c.post(f"{api}/chat", headers=user.headers, json={"message": "three"})
            streamed = c.post(
                f"{api}/chat", headers={**user.headers, "Accept": "text/event-stream"}, json={"message": "three"}
            )
        assert res.status_code == 429 and streamed.status_code == 429, res.text
        body = res.json()
        assert body["code"] == "too_many_turns" and "2 messages" in body["detail"] and "in the last minute" in body["detail"]
        wait = int(res.headers["retry-after"])
        assert 1 <= wait <= 60 and body["retry_after"] == wait and f"try again in {wait} s" in body["detail"]
        assert len(fake.requests) == 2
        refused = [r.getMessage() for r in logs.records if "refused" in r.getMessage()]
        assert len(refused) == 2 and all(f"code=too_many_turns conversation=new user={user.id} " in m for m in refused)


def test_a_turn_left_running_by_a_dead_process_stops_counting(
    app_settings: Settings, api: str, fake: FakeModel, mcp: McpServer
) -> None:
    with app_client(model_settings(app_settings, fake.url, mcp.url, chat_timeout_seconds=20)) as c:
        user = sign_up(c, api)
        # A pod killed mid-turn never marks its turn finished; no turn can outlast CHAT_TIMEOUT_SECONDS + 120 s.
        with c.app.state.engine.begin() as conn:
            conn.execute(
                sa_text("INSERT INTO chat_turns (user_id, started_at) VALUES (:u, now() - interval '141 seconds')"),
                {"u": user.id},
            )
        fake.play(text("Back again."))
        res = c.post(f"{api}/chat", headers=user.headers, json={"message": "hello"})
        assert res.status_code == 200, res.text


def test_the_offline_assistant_is_not_limited(client: TestClient, api: str, user: Account) -> None:
    # No model to protect: more than the default 10 turns a minute, as fast as they come.
    for n in range(12):
        res = client.post(f"{api}/chat", headers=user.headers, json={"message": f"add task chore {n}"})
        assert res.status_code == 200, res.text


# ---------------------------------------------------------------------------------------------
# Numbers: Prometheus metrics on a port of their own


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics on the metrics port, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as res:
        assert res.status == 200 and res.headers["content-type"].startswith("text/plain")
        body = res.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_turns_model_requests_tool_calls_mcp_errors_and_pool_use(
    app_settings: Settings, api: str, fake: FakeModel, client: TestClient
) -> None:
    port = free_port()
    with run_mcp_server(os.environ["DATABASE_URL"]) as server, app_client(
        model_settings(app_settings, fake.url, server.url, metrics_port=port, chat_turns_per_minute=4)
    ) as c:
        user = sign_up(c, api)
        # A turn with a tool call, one with a tool the model made up, a provider failure, a refusal, a dead MCP server.
        fake.play(tools(call("list_tasks", {})), text("Nothing yet."))
        stream_chat(c, api, user.headers, "what is on my list?")
        fake.play(tools(call("drop_all_tasks", {})), text("I can't do that."))
        stream_chat(c, api, user.headers, "remove everything")
        fake.play(Failure(503, "The engine is currently overloaded, please try again later.", "server_error"))
        stream_chat(c, api, user.headers, "hello")
        server.stop()
        fake.play(tools(call("add_task", {"title": "water plants"})))
        stream_chat(c, api, user.headers, "add water plants")
        assert c.post(f"{api}/chat", headers=user.headers, json={"message": "one more"}).status_code == 429
        m = scrape(port)
        # Not on the API's port, which the Ingress routes.
        assert c.get("/metrics").status_code == 404 and c.get(f"{api}/metrics").status_code == 404

    assert sample(m, "taskflow_chat_turns_total", code="ok") == 2
    assert sample(m, "taskflow_chat_turns_total", code="provider_error") == 1
    assert sample(m, "taskflow_chat_turns_total", code="tools_unavailable") == 1
    assert sample(m, "taskflow_chat_turns_total", code="too_many_turns") == 1
    assert sample(m, "taskflow_chat_turn_duration_seconds_count", outcome="ok") == 2
    assert sample(m, "taskflow_chat_turn_duration_seconds_count", outcome="error") == 2
    assert sample(m, "taskflow_chat_turn_duration_seconds_bucket", outcome="ok", le="+Inf") == 2
    assert sample(m, "taskflow_model_request_duration_seconds_count", outcome="ok") == 5
    assert sample(m, "taskflow_model_request_duration_seconds_count", outcome="error") == 1
    assert sample(m, "taskflow_tool_calls_total", tool="list_tasks", outcome="ok") == 1
    assert sample(m, "taskflow_tool_calls_total", tool="unknown", outcome="refused") == 1
    assert sample(m, "taskflow_tool_calls_total", tool="add_task", outcome="unavailable") == 1
    assert sample(m, "taskflow_mcp_errors_total", kind="call") == 1
    for pool in ("requests", "task_list", "app"):
        assert ("taskflow_db_pool_connections_in_use", frozenset({("pool", pool)})) in m
    # No label holds what a model or a user wrote.
    assert not [k for k in m if any("drop_all" in v or "water" in v for _, v in k[1])]


def test_the_pool_gauge_counts_connections_held_while_scraped(app_settings: Settings) -> None:
    port = free_port()
    with app_client(replace(app_settings, metrics_port=port)) as c:
        engine = c.app.state.engine
        with engine.connect(), engine.connect():
            held = sample(scrape(port), "taskflow_db_pool_connections_in_use", pool="app")
        assert held >= 2
        assert sample(scrape(port), "taskflow_db_pool_connections_in_use", pool="app") <= held - 2
