"""The probe endpoints: /health/live for liveness (no database), /health for readiness (database and tables)."""

from __future__ import annotations

import httpx2
import pytest
from conftest import DATABASE_URL, Account, ServerProcess, connect, error_text, free_port, start_server, stop_server
from sqlalchemy import Engine, text


def test_live_answers_ok_without_a_token(server: ServerProcess) -> None:
    res = httpx2.get(f"{server.url}/health/live", timeout=5)
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}
    assert httpx2.head(f"{server.url}/health/live", timeout=5).status_code == 200


def test_health_answers_ok_when_the_database_and_its_tables_are_there(server: ServerProcess) -> None:
    res = httpx2.get(f"{server.url}/health", timeout=10)
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "database": "ok"}


def test_the_probes_take_no_other_method(server: ServerProcess) -> None:
    assert httpx2.post(f"{server.url}/health", timeout=5).status_code == 405


@pytest.mark.anyio
async def test_without_a_database_the_server_still_starts_is_live_not_ready_and_tools_say_why(alice: Account) -> None:
    # Nothing listens on this port: every connection attempt is refused at once.
    unreachable = f"postgresql://taskflow:secret-password@127.0.0.1:{free_port()}/taskflow"
    s = start_server({"DATABASE_URL": unreachable, "DB_CONNECT_TIMEOUT_SECONDS": "2"})
    try:
        assert httpx2.get(f"{s.url}/health/live", timeout=5).status_code == 200
        res = httpx2.get(f"{s.url}/health", timeout=10)
        assert res.status_code == 503
        assert res.json() == {"status": "error", "database": "unavailable"}
        async with connect(s, alice.token()) as client:
            result = await client.call_tool("list_tasks", {})
        assert result.is_error
        assert error_text(result) == "Error executing tool list_tasks: Database unavailable, try again shortly"
        log = s.log_text()
        assert "database unavailable" in log
        assert "secret-password" not in log
    finally:
        stop_server(s)


def test_before_the_backend_creates_the_tables_health_says_so(engine: Engine) -> None:
    # A search_path holding no tables stands in for a database the backend has not migrated yet.
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS mcp_test_empty"))
    joiner = "&" if "?" in DATABASE_URL else "?"
    s = start_server({"DATABASE_URL": f"{DATABASE_URL}{joiner}options=-csearch_path%3Dmcp_test_empty"})
    try:
        res = httpx2.get(f"{s.url}/health", timeout=10)
        assert res.status_code == 503
        assert res.json() == {"status": "error", "database": "no tasks table yet"}
    finally:
        stop_server(s)
