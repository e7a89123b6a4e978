"""One user's calls cannot see or change another user's tasks, whatever the arguments say.

Run over both wire forms the SDK client speaks: the 2026-07-28 per-request form ("auto") and the
initialize handshake of earlier versions ("legacy")."""

from __future__ import annotations

import anyio
import pytest
from conftest import Account, ServerProcess, connect, error_text, ok, task_row
from sqlalchemy import Engine

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def bobs_task(server: ServerProcess, bob: Account, mode: str) -> dict:
    async with connect(server, bob.token(), mode=mode) as client:
        return ok(await client.call_tool("add_task", {"title": "Bob's secret plan", "description": "do not share"}))


async def test_list_tasks_shows_only_the_callers_tasks(server: ServerProcess, alice: Account, bob: Account, mode: str) -> None:
    async with connect(server, alice.token(), mode=mode) as client:
        mine = ok(await client.call_tool("add_task", {"title": "Alice's task"}))
    theirs = await bobs_task(server, bob, mode)
    async with connect(server, alice.token(), mode=mode) as client:
        listed = ok(await client.call_tool("list_tasks", {}))
        done = ok(await client.call_tool("list_tasks", {"completed": False}))
    assert [t["id"] for t in listed["tasks"]] == [mine["id"]]
    assert theirs["id"] not in [t["id"] for t in done["tasks"]]


@pytest.mark.parametrize(
    ("tool", "extra"),
    [
        ("complete_task", {}),
        ("reopen_task", {}),
        ("update_task", {"title": "hijacked"}),
        ("update_task", {"description": ""}),
        ("update_task", {"completed": True}),
        ("delete_task", {}),
    ],
)
async def test_another_users_task_id_is_not_found_and_stays_unchanged(
    server: ServerProcess, engine: Engine, alice: Account, bob: Account, mode: str, tool: str, extra: dict
) -> None:
    theirs = await bobs_task(server, bob, mode)
    before = task_row(engine, theirs["id"])
    async with connect(server, alice.token(), mode=mode) as client:
        result = await client.call_tool(tool, {"task_id": theirs["id"], **extra})
        # An id nobody has answers in the same words: the answer tells Alice nothing about Bob's ids.
        missing = await client.call_tool(tool, {"task_id": 2_147_483_000, **extra})
    assert result.is_error
    assert error_text(result) == f"Error executing tool {tool}: Task {theirs['id']} not found"
    assert error_text(missing) == f"Error executing tool {tool}: Task 2147483000 not found"
    assert task_row(engine, theirs["id"]) == before


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("list_tasks", {}),
        ("add_task", {"title": "planted"}),
        ("complete_task", {"task_id": 1}),
        ("update_task", {"task_id": 1, "title": "x"}),
        ("delete_task", {"task_id": 1}),
    ],
)
async def test_a_user_id_argument_is_refused_not_obeyed(
    server: ServerProcess, engine: Engine, alice: Account, bob: Account, mode: str, tool: str, args: dict
) -> None:
    async with connect(server, alice.token(), mode=mode) as client:
        for key in ("user_id", "userId", "sub"):
            result = await client.call_tool(tool, {**args, key: bob.id})
            assert result.is_error, f"{tool} accepted {key}"
            assert key in error_text(result)
            assert "Extra inputs are not permitted" in error_text(result)
    async with connect(server, bob.token(), mode=mode) as client:
        assert ok(await client.call_tool("list_tasks", {}))["count"] == 0


async def test_two_users_calling_at_once_each_see_only_their_own_tasks(server: ServerProcess, alice: Account, bob: Account, mode: str) -> None:
    # The verified token travels with each HTTP request to the task running its tool call; calls in
    # flight together must not see each other's caller.
    seen: dict[str, set[str]] = {"alice": set(), "bob": set()}

    async def work(who: str, account: Account) -> None:
        async with connect(server, account.token(), mode=mode) as client:
            async with anyio.create_task_group() as tg:
                for n in range(8):
                    tg.start_soon(client.call_tool, "add_task", {"title": f"{who} {n}"})
            for _ in range(3):
                listed = ok(await client.call_tool("list_tasks", {}))
                seen[who] |= {t["title"] for t in listed["tasks"]}

    async with anyio.create_task_group() as tg:
        tg.start_soon(work, "alice", alice)
        tg.start_soon(work, "bob", bob)
    assert seen["alice"] == {f"alice {n}" for n in range(8)}
    assert seen["bob"] == {f"bob {n}" for n in range(8)}

