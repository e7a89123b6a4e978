"""Malformed tool arguments are refused with an error that names the argument, and change nothing."""

from __future__ import annotations

import httpx2
import pytest
from conftest import Account, ServerProcess, connect, count_tasks, error_text, ok, task_row
from sqlalchemy import Engine

pytestmark = pytest.mark.anyio

# (tool, arguments, words the error must contain). TASK stands for one of the caller's own task ids,
# so a refusal is about the value, never about ownership.
TASK = -999
CASES = [
    ("complete_task", {}, ["task_id", "Field required"]),
    ("complete_task", {"task_id": "TASK_AS_TEXT"}, ["task_id", "valid integer"]),
    ("complete_task", {"task_id": 3.5}, ["task_id", "valid integer"]),
    ("complete_task", {"task_id": True}, ["task_id", "valid integer"]),
    ("complete_task", {"task_id": None}, ["task_id", "valid integer"]),
    ("reopen_task", {"task_id": 0}, ["task_id", "greater than or equal to 1"]),
    ("reopen_task", {"task_id": -5}, ["task_id", "greater than or equal to 1"]),
    ("delete_task", {"task_id": 2**31}, ["task_id", "less than or equal to 2147483647"]),
    ("delete_task", {"task_id": [TASK]}, ["task_id", "valid integer"]),
    ("add_task", {}, ["title", "Field required"]),
    ("add_task", {"title": ""}, ["title", "at least 1 character"]),
    ("add_task", {"title": "   "}, ["title", "must not be blank"]),
    ("add_task", {"title": "x" * 201}, ["title", "at most 200 characters"]),
    ("add_task", {"title": "a\x00b"}, ["title", "NUL"]),
    ("add_task", {"title": 42}, ["title", "valid string"]),
    ("add_task", {"title": "ok", "description": "d" * 2001}, ["description", "at most 2000 characters"]),
    ("add_task", {"title": "ok", "description": "a\x00"}, ["description", "NUL"]),
    ("list_tasks", {"completed": "yes"}, ["completed", "valid boolean"]),
    ("list_tasks", {"completed": 1}, ["completed", "valid boolean"]),
    ("update_task", {"task_id": TASK}, ["Nothing to change"]),
    ("update_task", {"task_id": TASK, "title": None, "completed": None}, ["Nothing to change"]),
    ("update_task", {"task_id": TASK, "title": " "}, ["title", "must not be blank"]),
    ("update_task", {"task_id": TASK, "completed": "true"}, ["completed", "valid boolean"]),
    ("update_task", {"task_id": TASK, "done": True}, ["done", "Extra inputs are not permitted"]),
    ("add_task", {"title": "ok", "priority": "high"}, ["priority", "Extra inputs are not permitted"]),
]


def _fill(value: object, task_id: int) -> object:
    if value == TASK:
        return task_id
    if value == "TASK_AS_TEXT":
        return str(task_id)
    if isinstance(value, list):
        return [_fill(v, task_id) for v in value]
    return value


@pytest.mark.parametrize(("tool", "args", "words"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_malformed_arguments_are_refused_with_a_clear_error_and_change_nothing(
    server: ServerProcess, engine: Engine, alice: Account, tool: str, args: dict, words: list[str]
) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "Keep me", "description": "as I am"}))
        before = task_row(engine, task["id"])
        result = await client.call_tool(tool, {k: _fill(v, task["id"]) for k, v in args.items()})
    assert result.is_error, f"{tool}{args} was accepted: {result.structured_content}"
    message = error_text(result)
    assert message.startswith(f"Error executing tool {tool}: "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    # The argument and the rule, never the value that was sent (it can be a paragraph, or a secret).
    assert "input_value" not in message and "errors.pydantic.dev" not in message, message
    for value in args.values():
        if isinstance(value, str) and len(value) > 3 and value not in ("TASK_AS_TEXT",):
            assert value not in message, message
    assert task_row(engine, task["id"]) == before
    assert count_tasks(engine, alice.id) == 1


async def test_an_unknown_tool_is_refused_by_name(server: ServerProcess, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        result = await client.call_tool("drop_all_tasks", {})
    assert result.is_error
    assert "Unknown tool: drop_all_tasks" in error_text(result)


async def test_a_lone_surrogate_never_reaches_the_database(server: ServerProcess, engine: Engine, alice: Account) -> None:
    # JSON allows "\\ud800"; UTF-8, and so PostgreSQL, cannot hold it. The SDK's client refuses to send
    # such a string, so this request is written by hand. The transport's JSON parser refuses it (the
    # tools check for it too, should that parser ever let one through).
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":{"title":"\\ud800"}}}'
    async with httpx2.AsyncClient(timeout=10) as http:
        res = await http.post(
            server.mcp_url,
            content=body,
            headers={
                "Authorization": f"Bearer {alice.token()}",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
    assert res.status_code == 400, res.text
    assert res.json()["error"]["message"].startswith("Parse error")
    assert count_tasks(engine, alice.id) == 0
