"""GET /tasks checks the token's session and reads the tasks in one statement on the read pool
(app/pool.py): the session rules and the database errors it shares with every other route."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

import jwt
import psycopg
import pytest
from conftest import Account, sign_up
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.pool import ConnectionPool, PoolTimeout, conninfo_of
from app.security import encode_token

UNREACHABLE_URL = "postgresql+psycopg://nobody:secret@127.0.0.1:1/nowhere"
FILTERS: list[dict[str, str]] = [{}, {"completed": "true"}, {"completed": "false"}]


def sid_of(account: Account) -> str:
    return str(jwt.decode(account.access, options={"verify_signature": False})["sid"])


def token_for(settings: Settings, user_id: int, session_id: str) -> str:
    return encode_token(secret=settings.auth_secret, user_id=user_id, session_id=session_id, token_type="access",
                        ttl_seconds=600)[0]


def run_sql(settings: Settings, sql: str, params: tuple[object, ...] = ()) -> None:
    with psycopg.connect(conninfo_of(settings), autocommit=True) as conn:
        conn.execute(sql, params)


@pytest.mark.parametrize("params", FILTERS)
def test_a_live_session_without_tasks_lists_none(client: TestClient, api: str, user: Account, params: dict) -> None:
    res = client.get(f"{api}/tasks", headers=user.headers, params=params)
    assert res.status_code == 200 and res.json() == []


@pytest.mark.parametrize("params", FILTERS)
def test_a_revoked_session_lists_nothing(client: TestClient, api: str, user: Account, params: dict) -> None:
    client.post(f"{api}/tasks", headers=user.headers, json={"title": "kept"})
    assert client.post(f"{api}/auth/logout", json={"refresh_token": user.refresh}).status_code == 200
    res = client.get(f"{api}/tasks", headers=user.headers, params=params)
    assert res.status_code == 401
    assert res.json() == {"detail": "Session is no longer valid"}
    assert res.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("params", FILTERS)
def test_an_expired_session_lists_nothing(
    client: TestClient, api: str, app_settings: Settings, user: Account, params: dict
) -> None:
    client.post(f"{api}/tasks", headers=user.headers, json={"title": "kept"})
    # The access token is still valid: only the session row says the login is over.
    run_sql(app_settings, "UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE id = %s", (sid_of(user),))
    res = client.get(f"{api}/tasks", headers=user.headers, params=params)
    assert res.status_code == 401
    assert res.json() == {"detail": "Session is no longer valid"}


def test_a_session_of_another_user_lists_nothing(
    client: TestClient, api: str, app_settings: Settings, user: Account, other_user: Account
) -> None:
    client.post(f"{api}/tasks", headers=user.headers, json={"title": "mine"})
    client.post(f"{api}/tasks", headers=other_user.headers, json={"title": "theirs"})
    for user_id, session_id in ((user.id, sid_of(other_user)), (other_user.id, sid_of(user)), (user.id, str(uuid.uuid4()))):
        res = client.get(f"{api}/tasks", headers={"Authorization": f"Bearer {token_for(app_settings, user_id, session_id)}"})
        assert res.status_code == 401, (user_id, session_id)


def test_a_deleted_user_lists_nothing(client: TestClient, api: str, app_settings: Settings) -> None:
    gone = sign_up(client, api)
    client.post(f"{api}/tasks", headers=gone.headers, json={"title": "orphan?"})
    run_sql(app_settings, "DELETE FROM users WHERE id = %s", (gone.id,))
    assert client.get(f"{api}/tasks", headers=gone.headers).status_code == 401


def test_an_unreachable_database_lists_with_503(app_settings: Settings) -> None:
    down = create_app(replace(app_settings, database_url=UNREACHABLE_URL, db_connect_timeout_seconds=1))
    token = token_for(app_settings, 1, str(uuid.uuid4()))
    with TestClient(down) as c:
        res = c.get(f"{app_settings.api_prefix}/tasks", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 503
    assert res.json() == {"detail": "Database unavailable, try again shortly"}
    assert res.headers["retry-after"] == "5"


def test_a_dropped_connection_is_one_503_then_the_next_request_reconnects(app_settings: Settings) -> None:
    name = f"read-pool-test-{uuid.uuid4().hex[:8]}"
    app = create_app(app_settings)
    app.state.read_pool = ConnectionPool(
        conninfo_of(app_settings), size=2, wait_timeout=10, connect_args={"application_name": name}
    )
    with TestClient(app) as c:
        account = sign_up(c, app_settings.api_prefix)
        url = f"{app_settings.api_prefix}/tasks"
        assert c.get(url, headers=account.headers).status_code == 200
        run_sql(app_settings, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,))
        time.sleep(0.2)
        assert c.get(url, headers=account.headers).status_code == 503
        assert c.get(url, headers=account.headers).status_code == 200


# The pool on its own: each test runs its coroutine on a fresh event loop, as the app does on its one loop.


def test_pool_pings_an_idle_connection_and_replaces_it_when_dead(app_settings: Settings) -> None:
    name = f"read-pool-test-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[int]:
        pool = ConnectionPool(conninfo_of(app_settings), size=1, wait_timeout=10,
                              connect_args={"application_name": name}, ping_after_idle=0)
        try:
            first = await pool.fetch_all("SELECT pg_backend_pid() AS pid", ())
            await asyncio.to_thread(
                run_sql, app_settings, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (name,),
            )
            await asyncio.sleep(0.2)
            second = await pool.fetch_all("SELECT pg_backend_pid() AS pid", ())
            return [first[0]["pid"], second[0]["pid"]]
        finally:
            await pool.close()

    first, second = asyncio.run(scenario())
    assert first != second


def test_pool_never_opens_more_than_its_size_and_times_out_waiting(app_settings: Settings) -> None:
    async def scenario() -> tuple[list[object], int]:
        pool = ConnectionPool(conninfo_of(app_settings), size=1, wait_timeout=0.2, connect_args={})
        try:
            slow = asyncio.create_task(pool.fetch_all("SELECT pg_sleep(1)", ()))
            await asyncio.sleep(0.1)
            waited = await asyncio.gather(pool.fetch_all("SELECT 1 AS one", ()), return_exceptions=True)
            await slow
            again = await pool.fetch_all("SELECT 1 AS one", ())
            return waited, again[0]["one"]
        finally:
            await pool.close()

    waited, again = asyncio.run(scenario())
    assert isinstance(waited[0], PoolTimeout)
    assert again == 1


def test_pool_keeps_a_connection_after_a_failed_statement(app_settings: Settings) -> None:
    async def scenario() -> tuple[int, int]:
        pool = ConnectionPool(conninfo_of(app_settings), size=1, wait_timeout=1, connect_args={})
        try:
            before = (await pool.fetch_all("SELECT pg_backend_pid() AS pid", ()))[0]["pid"]
            with pytest.raises(psycopg.errors.DivisionByZero):
                await pool.fetch_all("SELECT 1 / 0", ())
            after = (await pool.fetch_all("SELECT pg_backend_pid() AS pid", ()))[0]["pid"]
            return before, after
        finally:
            await pool.close()

    before, after = asyncio.run(scenario())
    assert before == after
