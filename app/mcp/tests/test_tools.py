"""Each tool's happy path, through the SDK's client over streamable HTTP, checked against the database rows."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from conftest import Account, ServerProcess, connect, ok, task_row
from sqlalchemy import Engine

pytestmark = pytest.mark.anyio

TOOLS = {"add_task", "list_tasks", "complete_task", "reopen_task", "update_task", "delete_task"}


async def test_the_server_lists_the_six_tools_with_strict_typed_arguments_and_no_user_id(server: ServerProcess, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        schema = tool.input_schema
        assert schema["type"] == "object", name
        assert schema["additionalProperties"] is False, name
        assert "user" not in json.dumps(schema).lower(), f"{name} takes a user argument: {schema}"
        assert tool.output_schema is not None, name
        assert tool.description, name
        if "task_id" in schema["properties"]:
            assert schema["properties"]["task_id"]["type"] == "integer"
            assert schema["properties"]["task_id"]["minimum"] == 1
            assert "task_id" in schema["required"]
    assert tools["add_task"].input_schema["required"] == ["title"]
    assert tools["add_task"].input_schema["properties"]["title"]["maxLength"] == 200
    assert "required" not in tools["list_tasks"].input_schema
    assert set(tools["update_task"].input_schema["properties"]) == {"task_id", "title", "description", "completed"}
    assert tools["list_tasks"].annotations is not None and tools["list_tasks"].annotations.read_only_hint is True
    assert tools["delete_task"].annotations is not None and tools["delete_task"].annotations.destructive_hint is True


async def test_add_task_creates_a_task_owned_by_the_caller(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "  Buy oat milk  ", "description": "two litres"}))
    assert task["title"] == "Buy oat milk"
    assert task["description"] == "two litres"
    assert task["completed"] is False
    datetime.fromisoformat(task["created_at"])
    row = task_row(engine, task["id"])
    assert row is not None
    assert row["user_id"] == alice.id
    assert (row["title"], row["description"], row["completed"]) == ("Buy oat milk", "two litres", False)


async def test_add_task_without_a_description_stores_none(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "Call the plumber"}))
        empty = ok(await client.call_tool("add_task", {"title": "Water plants", "description": ""}))
    assert task["description"] is None
    assert empty["description"] is None
    assert task_row(engine, task["id"])["description"] is None  # type: ignore[index]


async def test_list_tasks_gives_the_callers_tasks_oldest_first_and_filters_by_completion(server: ServerProcess, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        assert ok(await client.call_tool("list_tasks", {})) == {"tasks": [], "count": 0}
        ids = [ok(await client.call_tool("add_task", {"title": f"task {n}"}))["id"] for n in range(3)]
        ok(await client.call_tool("complete_task", {"task_id": ids[1]}))
        everything = ok(await client.call_tool("list_tasks", {}))
        done = ok(await client.call_tool("list_tasks", {"completed": True}))
        open_ = ok(await client.call_tool("list_tasks", {"completed": False}))
        explicit_all = ok(await client.call_tool("list_tasks", {"completed": None}))
    assert [t["id"] for t in everything["tasks"]] == ids
    assert everything["count"] == 3
    assert [t["title"] for t in everything["tasks"]] == ["task 0", "task 1", "task 2"]
    assert [t["id"] for t in done["tasks"]] == [ids[1]]
    assert [t["id"] for t in open_["tasks"]] == [ids[0], ids[2]]
    assert explicit_all == everything


async def test_complete_task_marks_it_done_and_moves_updated_at(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "File taxes"}))
        done = ok(await client.call_tool("complete_task", {"task_id": task["id"]}))
        again = ok(await client.call_tool("complete_task", {"task_id": task["id"]}))
    assert done["completed"] is True
    assert again["completed"] is True
    assert datetime.fromisoformat(done["updated_at"]) > datetime.fromisoformat(task["updated_at"])
    assert task_row(engine, task["id"])["completed"] is True  # type: ignore[index]


async def test_reopen_task_marks_a_done_task_open(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "Renew passport"}))
        ok(await client.call_tool("complete_task", {"task_id": task["id"]}))
        reopened = ok(await client.call_tool("reopen_task", {"task_id": task["id"]}))
    assert reopened["completed"] is False
    assert task_row(engine, task["id"])["completed"] is False  # type: ignore[index]


async def test_update_task_changes_only_what_is_given_and_an_empty_description_clears_it(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "Draft", "description": "first notes"}))
        renamed = ok(await client.call_tool("update_task", {"task_id": task["id"], "title": " Final "}))
        described = ok(await client.call_tool("update_task", {"task_id": task["id"], "description": "second notes"}))
        done = ok(await client.call_tool("update_task", {"task_id": task["id"], "completed": True}))
        cleared = ok(await client.call_tool("update_task", {"task_id": task["id"], "description": ""}))
        everything = ok(
            await client.call_tool(
                "update_task", {"task_id": task["id"], "title": "Sent", "description": "done", "completed": False}
            )
        )
    assert (renamed["title"], renamed["description"], renamed["completed"]) == ("Final", "first notes", False)
    assert (described["title"], described["description"]) == ("Final", "second notes")
    assert (done["title"], done["description"], done["completed"]) == ("Final", "second notes", True)
    assert (cleared["description"], cleared["completed"]) == (None, True)
    assert (everything["title"], everything["description"], everything["completed"]) == ("Sent", "done", False)
    row = task_row(engine, task["id"])
    assert row is not None and (row["title"], row["description"], row["completed"]) == ("Sent", "done", False)


async def test_delete_task_removes_it_and_a_second_delete_finds_nothing(server: ServerProcess, engine: Engine, alice: Account) -> None:
    async with connect(server, alice.token()) as client:
        task = ok(await client.call_tool("add_task", {"title": "Throw away"}))
        assert ok(await client.call_tool("delete_task", {"task_id": task["id"]})) == {"id": task["id"], "deleted": True}
        again = await client.call_tool("delete_task", {"task_id": task["id"]})
        listed = ok(await client.call_tool("list_tasks", {}))
    assert again.is_error
    assert task_row(engine, task["id"]) is None
    assert task["id"] not in [t["id"] for t in listed["tasks"]]


async def test_every_tool_also_works_over_the_initialize_handshake_of_earlier_protocol_versions(server: ServerProcess, alice: Account) -> None:
    async with connect(server, alice.token(), mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        task = ok(await client.call_tool("add_task", {"title": "Legacy"}))
        ok(await client.call_tool("complete_task", {"task_id": task["id"]}))
        ok(await client.call_tool("reopen_task", {"task_id": task["id"]}))
        ok(await client.call_tool("update_task", {"task_id": task["id"], "title": "Legacy 2"}))
        assert [t["title"] for t in ok(await client.call_tool("list_tasks", {}))["tasks"]] == ["Legacy 2"]
        ok(await client.call_tool("delete_task", {"task_id": task["id"]}))
