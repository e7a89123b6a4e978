"""The rule-based offline assistant (no model configured): parsing, the actions it takes, and that it acts
only for its user."""

from __future__ import annotations

import pytest
from conftest import Account
from fastapi.testclient import TestClient

from app.chat import parse


def say(client: TestClient, api: str, account: Account, message: str) -> dict:
    res = client.post(f"{api}/chat", headers=account.headers, json={"message": message})
    assert res.status_code == 200, res.text
    body = res.json()
    # Today's clients read reply and actions; the rest is new and optional to them.
    assert isinstance(body["reply"], str) and body["reply"] and isinstance(body["actions"], list)
    assert body["offline"] is True and "offline assistant" in body["notice"].lower()
    assert isinstance(body["conversation_id"], int)
    return body


@pytest.mark.parametrize(
    ("message", "intent", "value"),
    [
        ("add task buy milk", "add", "buy milk"),
        ("Add a task: call the dentist", "add", "call the dentist"),
        ("please create a new task called 'water plants'", "add", "water plants"),
        ("add task to renew passport.", "add", "renew passport"),
        ("add pay rent to my todo list", "add", "pay rent"),
        ("remind me to stretch", "add", "stretch"),
        ("list my tasks", "list", None),
        ("show me all my tasks", "list", None),
        ("What are my tasks?", "list", None),
        ("tasks", "list", None),
        ("list completed tasks", "list", True),
        ("show my open tasks", "list", False),
        ("complete task 3", "complete", "3"),
        ("Mark task #12 as done", "complete", "12"),
        ("finish task 7 please", "complete", "7"),
        ("task 4 is done", "complete", "4"),
        ("reopen task 5", "reopen", "5"),
        ("mark task 5 as not done", "reopen", "5"),
        ("delete task 9", "delete", "9"),
        ("please remove task #10", "delete", "10"),
        ("help", "help", None),
        ("hello", "greet", None),
        ("what's the weather", "unknown", None),
        ("complete task", "unknown", None),
    ],
)
def test_parse(message: str, intent: str, value: object) -> None:
    cmd = parse(message)
    assert cmd.intent == intent, cmd
    if intent == "add":
        assert cmd.title == value
    elif intent == "list":
        assert cmd.completed == value
    elif intent in ("complete", "reopen", "delete"):
        assert cmd.task_ref == value


def test_add_list_complete_delete(client: TestClient, api: str, user: Account) -> None:
    added = say(client, api, user, "add task buy milk")
    assert added["actions"][0]["tool"] == "add_task" and added["actions"][0]["title"] == "buy milk"
    task_id = added["actions"][0]["task_id"]
    assert f"#{task_id}" in added["reply"]
    tasks = client.get(f"{api}/tasks", headers=user.headers).json()
    assert [(t["id"], t["title"]) for t in tasks] == [(task_id, "buy milk")]

    listed = say(client, api, user, "list my tasks")
    assert listed["actions"][0]["tool"] == "list_tasks" and listed["actions"][0]["count"] == 1
    assert "buy milk" in listed["reply"]

    done = say(client, api, user, f"complete task {task_id}")
    assert done["actions"] == [{"tool": "complete_task", "task_id": task_id, "title": "buy milk"}]
    assert client.get(f"{api}/tasks/{task_id}", headers=user.headers).json()["completed"] is True
    again = say(client, api, user, f"complete task {task_id}")
    assert again["actions"] == [] and "already" in again["reply"]

    gone = say(client, api, user, f"delete task {task_id}")
    assert gone["actions"] == [{"tool": "delete_task", "task_id": task_id, "title": "buy milk"}]
    assert client.get(f"{api}/tasks/{task_id}", headers=user.headers).status_code == 404
    empty = say(client, api, user, "list my tasks")
    assert empty["actions"][0]["count"] == 0 and "no tasks" in empty["reply"]


def test_unknown_task_numbers_are_answered_not_errors(client: TestClient, api: str, user: Account) -> None:
    for n in ("0", "99999", "99999999999999999999", "2147483648"):
        body = say(client, api, user, f"delete task {n}")
        assert body["actions"] == [] and "couldn't find" in body["reply"]


def test_chat_cannot_touch_another_users_task(
    client: TestClient, api: str, user: Account, other_user: Account
) -> None:
    task = client.post(f"{api}/tasks", headers=user.headers, json={"title": "mine"}).json()
    for verb in ("complete", "delete"):
        body = say(client, api, other_user, f"{verb} task {task['id']}")
        assert body["actions"] == []
    assert client.get(f"{api}/tasks/{task['id']}", headers=user.headers).json()["completed"] is False


def test_unrecognised_message_gets_help(client: TestClient, api: str, user: Account) -> None:
    body = say(client, api, user, "sing me a song")
    assert body["actions"] == [] and "add task" in body["reply"]


def test_chat_title_too_long_is_a_reply(client: TestClient, api: str, user: Account) -> None:
    body = say(client, api, user, "add task " + "x" * 300)
    assert body["actions"] == [] and "too long" in body["reply"]


def test_chat_needs_a_token(client: TestClient, api: str) -> None:
    assert client.post(f"{api}/chat", json={"message": "list my tasks"}).status_code == 401
