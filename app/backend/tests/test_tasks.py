"""Task CRUD, response shapes and per-user isolation against PostgreSQL."""

from __future__ import annotations

import time
from datetime import datetime

from conftest import Account
from fastapi.testclient import TestClient


def create(client: TestClient, api: str, account: Account, title: str, **extra: object) -> dict:
    res = client.post(f"{api}/tasks", headers=account.headers, json={"title": title, **extra})
    assert res.status_code == 201, res.text
    return res.json()


def test_create_returns_the_task(client: TestClient, api: str, user: Account) -> None:
    task = create(client, api, user, "  Buy milk  ", description="2 litres")
    assert set(task) == {"id", "title", "description", "completed", "created_at", "updated_at"}
    assert task["title"] == "Buy milk"
    assert task["description"] == "2 litres"
    assert task["completed"] is False
    created = datetime.fromisoformat(task["created_at"])
    assert created.tzinfo is not None
    assert datetime.fromisoformat(task["updated_at"]) >= created


def test_description_is_optional(client: TestClient, api: str, user: Account) -> None:
    assert create(client, api, user, "No details")["description"] is None


def test_list_shows_own_tasks_in_creation_order(client: TestClient, api: str, user: Account) -> None:
    assert client.get(f"{api}/tasks", headers=user.headers).json() == []
    first = create(client, api, user, "first")
    second = create(client, api, user, "second")
    listed = client.get(f"{api}/tasks", headers=user.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [first["id"], second["id"]]


def test_filter_by_completed(client: TestClient, api: str, user: Account) -> None:
    done = create(client, api, user, "done one")
    open_ = create(client, api, user, "open one")
    client.put(f"{api}/tasks/{done['id']}", headers=user.headers, json={"completed": True})
    only_done = client.get(f"{api}/tasks", headers=user.headers, params={"completed": "true"}).json()
    only_open = client.get(f"{api}/tasks", headers=user.headers, params={"completed": "false"}).json()
    assert [t["id"] for t in only_done] == [done["id"]]
    assert [t["id"] for t in only_open] == [open_["id"]]


def test_update_any_field(client: TestClient, api: str, user: Account) -> None:
    task = create(client, api, user, "draft", description="old")
    time.sleep(0.01)
    res = client.put(f"{api}/tasks/{task['id']}", headers=user.headers, json={"completed": True})
    assert res.status_code == 200
    updated = res.json()
    assert updated["completed"] is True and updated["title"] == "draft" and updated["description"] == "old"
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(task["updated_at"])
    assert updated["created_at"] == task["created_at"]

    res = client.put(f"{api}/tasks/{task['id']}", headers=user.headers, json={"title": "final", "description": None})
    assert res.status_code == 200
    assert res.json()["title"] == "final" and res.json()["description"] is None and res.json()["completed"] is True
    got = client.get(f"{api}/tasks/{task['id']}", headers=user.headers).json()
    assert got == res.json()


def test_update_needs_something_valid(client: TestClient, api: str, user: Account) -> None:
    task = create(client, api, user, "keep me")
    url = f"{api}/tasks/{task['id']}"
    for body in ({}, {"title": None}, {"completed": None}, {"title": "   "}, {"completed": "maybe"}):
        res = client.put(url, headers=user.headers, json=body)
        assert res.status_code == 422, (body, res.text)
    assert client.get(url, headers=user.headers).json()["title"] == "keep me"


def test_delete(client: TestClient, api: str, user: Account) -> None:
    task = create(client, api, user, "temporary")
    res = client.delete(f"{api}/tasks/{task['id']}", headers=user.headers)
    assert res.status_code == 204 and res.content == b""
    assert client.get(f"{api}/tasks/{task['id']}", headers=user.headers).status_code == 404
    assert client.delete(f"{api}/tasks/{task['id']}", headers=user.headers).status_code == 404
    assert client.put(f"{api}/tasks/{task['id']}", headers=user.headers, json={"title": "x"}).status_code == 404


def test_users_only_see_their_own_tasks(client: TestClient, api: str, user: Account, other_user: Account) -> None:
    mine = create(client, api, user, "private")
    url = f"{api}/tasks/{mine['id']}"
    assert client.get(f"{api}/tasks", headers=other_user.headers).json() == []
    for res in (
        client.get(url, headers=other_user.headers),
        client.put(url, headers=other_user.headers, json={"title": "hijacked", "completed": True}),
        client.delete(url, headers=other_user.headers),
    ):
        assert res.status_code == 404
        assert res.json() == {"detail": "Task not found"}
    # Untouched for its owner.
    got = client.get(url, headers=user.headers).json()
    assert got["title"] == "private" and got["completed"] is False


def test_tasks_need_a_token(client: TestClient, api: str, user: Account) -> None:
    task = create(client, api, user, "guarded")
    for method, path in (("GET", "/tasks"), ("POST", "/tasks"), ("GET", f"/tasks/{task['id']}"),
                         ("PUT", f"/tasks/{task['id']}"), ("DELETE", f"/tasks/{task['id']}")):
        res = client.request(method, f"{api}{path}", json={"title": "x"})
        assert res.status_code == 401, (method, path)
