"""Configuration, start-up without a database, the migration command, and a real uvicorn process:
health, SIGTERM shutdown, and logs that never show secrets or tokens."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.config import Settings, assistant_misconfiguration, load_settings, normalise_database_url, normalise_prefix
from app.db import retry_with_backoff
from app.main import create_app

BACKEND_DIR = Path(__file__).resolve().parent.parent
# Nothing listens on port 1; connecting fails at once.
UNREACHABLE_URL = "postgresql+psycopg://nobody:hunter2secret@127.0.0.1:1/nowhere"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("  postgresql://u@h/d\n", "postgresql+psycopg://u@h/d"),
    ],
)
def test_database_url_is_normalised_to_psycopg3(raw: str, expected: str) -> None:
    assert normalise_database_url(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("/api/v1", "/api/v1"), ("api/v1/", "/api/v1"), ("", ""), ("/", "")])
def test_api_prefix_is_normalised(raw: str, expected: str) -> None:
    assert normalise_prefix(raw) == expected


def test_settings_from_environment() -> None:
    s = load_settings(
        {
            "DATABASE_URL": "postgresql://a:b@db:5432/app",
            "BETTER_AUTH_SECRET": "s" * 40,
            "CORS_ORIGINS": "http://a.test, http://b.test/ ,",
            "API_PREFIX": "/api/v2/",
            "LOG_LEVEL": "debug",
            "ACCESS_TOKEN_TTL_SECONDS": "60",
            "REFRESH_TOKEN_TTL_SECONDS": "120",
        }
    )
    assert s.database_url == "postgresql+psycopg://a:b@db:5432/app"
    assert s.cors_origins == ("http://a.test", "http://b.test")
    assert s.api_prefix == "/api/v2" and s.log_level == "DEBUG"
    assert (s.access_token_ttl_seconds, s.refresh_token_ttl_seconds) == (60, 120)
    assert "s" * 40 not in repr(s)


def test_assistant_settings_from_environment() -> None:
    s = load_settings(
        {
            "OPENAI_API_KEY": "sk-secret-value",
            "OPENAI_BASE_URL": "http://ollama:11434/v1",
            "MODEL_NAME": "llama3.1:8b",
            "MCP_URL": "http://demo-mcp:8001",
            "MCP_SHARED_SECRET": "m" * 40,
            "MAX_TOOL_ROUNDS": "3",
            "CHAT_TIMEOUT_SECONDS": "30",
            "MAX_TOKENS": "512",
            "MAX_CONVERSATION_HISTORY": "0",
        }
    )
    assert s.provider_configured and s.model_name == "llama3.1:8b" and s.openai_base_url == "http://ollama:11434/v1"
    # A bare service address (what a service link gives) means its /mcp endpoint.
    assert s.mcp_url == "http://demo-mcp:8001/mcp"
    assert (s.max_tool_rounds, s.chat_timeout_seconds, s.max_tokens, s.max_conversation_history) == (3, 30, 512, 0)
    assert "sk-secret-value" not in repr(s) and "m" * 40 not in repr(s)
    defaults = load_settings({})
    assert not defaults.provider_configured and defaults.mcp_url == "http://localhost:8001/mcp"
    assert (defaults.chat_max_concurrent_turns, defaults.chat_turns_per_minute) == (1, 10)
    # 0 lifts a limit.
    lifted = load_settings({"CHAT_MAX_CONCURRENT_TURNS": "0", "CHAT_TURNS_PER_MINUTE": "0"})
    assert (lifted.chat_max_concurrent_turns, lifted.chat_turns_per_minute) == (0, 0)
    assert load_settings({"OPENAI_BASE_URL": "http://lmstudio:1234/v1"}).provider_configured


def test_a_configured_provider_needs_the_mcp_secret() -> None:
    assert assistant_misconfiguration(Settings()) is None
    assert assistant_misconfiguration(Settings(openai_api_key="sk-x", mcp_shared_secret="m" * 32)) is None
    for s in (Settings(openai_api_key="sk-x"), Settings(openai_base_url="http://ollama:11434/v1", mcp_shared_secret="short")):
        assert "MCP_SHARED_SECRET" in (assistant_misconfiguration(s) or "")


@pytest.mark.parametrize(
    "bad",
    [{"ACCESS_TOKEN_TTL_SECONDS": "soon"}, {"REFRESH_TOKEN_TTL_SECONDS": "0"}, {"BCRYPT_ROUNDS": "3"},
     {"MAX_TOOL_ROUNDS": "0"}, {"CHAT_TIMEOUT_SECONDS": "fast"}, {"MAX_CONVERSATION_HISTORY": "-1"},
     {"CHAT_MAX_CONCURRENT_TURNS": "-1"}, {"CHAT_TURNS_PER_MINUTE": "ten"}, {"METRICS_PORT": "65536"}],
)
def test_bad_numbers_in_environment_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        load_settings(bad)


@pytest.mark.parametrize("secret", ["", "short"])
def test_app_refuses_to_start_without_a_real_secret(secret: str) -> None:
    with pytest.raises(RuntimeError, match="BETTER_AUTH_SECRET"):
        create_app(Settings(auth_secret=secret))


def test_api_prefix_moves_the_api_but_not_health(app_settings: Settings) -> None:
    moved = create_app(replace(app_settings, api_prefix="/v9"))
    paths = set(moved.openapi()["paths"])
    assert "/v9/tasks" in paths and "/v9/auth/login" in paths and "/health" in paths
    assert not any(p.startswith("/api/v1") for p in paths)


def test_cors_allows_configured_origins_only(app_settings: Settings) -> None:
    cors = create_app(replace(app_settings, cors_origins=("http://allowed.test",)))
    with TestClient(cors) as c:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        ok = c.options("/api/v1/tasks", headers={"Origin": "http://allowed.test", **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://allowed.test"
        bad = c.options("/api/v1/tasks", headers={"Origin": "http://evil.test", **preflight})
        assert "access-control-allow-origin" not in bad.headers


def test_retry_with_backoff_retries_then_succeeds() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) < 4:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    assert retry_with_backoff(flaky, what="test", deadline_seconds=None, sleep=sleeps.append)
    assert len(calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_with_backoff_gives_up_at_the_deadline() -> None:
    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    started = time.monotonic()
    assert not retry_with_backoff(down, what="test", deadline_seconds=1.0, initial_delay=0.1)
    assert time.monotonic() - started < 3


def test_unreachable_database_means_503_and_the_process_stays_up(app_settings: Settings) -> None:
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    db_log = logging.getLogger("taskflow.db")
    db_log.addHandler(handler)
    try:
        down = create_app(replace(app_settings, database_url=UNREACHABLE_URL, db_connect_timeout_seconds=1))
        with TestClient(down) as c:
            time.sleep(0.3)
            health = c.get("/health")
            assert health.status_code == 503
            assert health.json()["database"] != "ok"
            assert c.get("/health/live").status_code == 200
            signup = c.post("/api/v1/auth/signup", json={"email": "a@example.com", "password": "long-enough"})
            assert signup.status_code == 503 and "detail" in signup.json()
    finally:
        db_log.removeHandler(handler)
    attempts = [m for m in seen if "attempt" in m]
    assert attempts, seen
    # The log names the database but never its password.
    assert all("hunter2secret" not in m for m in seen)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(extra)
    return env


def test_migrate_command_is_idempotent() -> None:
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "app.migrate"], cwd=BACKEND_DIR, env=_env(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "schema up to date" in done.stderr


def test_migrate_command_adds_a_column_to_a_table_made_before_it() -> None:
    # A database from before messages.partial existed: its rows stay, and they are not partial.
    engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]))
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE messages DROP COLUMN IF EXISTS partial"))
        done = subprocess.run(
            [sys.executable, "-m", "app.migrate"], cwd=BACKEND_DIR, env=_env(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        with engine.connect() as conn:
            column = conn.execute(
                text("SELECT is_nullable, column_default FROM information_schema.columns "
                     "WHERE table_name = 'messages' AND column_name = 'partial'")
            ).one()
        assert column == ("NO", "false")
    finally:
        engine.dispose()


def test_migrate_command_gives_up_after_its_timeout() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "app.migrate"],
        cwd=BACKEND_DIR,
        env=_env(DATABASE_URL=UNREACHABLE_URL, MIGRATE_TIMEOUT_SECONDS="2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert time.monotonic() - started < 20
    assert "attempt 1 failed" in done.stderr and "hunter2secret" not in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _start_uvicorn(**env: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if _call(f"{base}/health")[0] == 200:
                return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"uvicorn never became healthy:\n{proc.communicate()[0]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def test_many_concurrent_requests_do_not_starve_the_pool() -> None:
    # More concurrent requests than worker threads (40) and pooled connections (15): a connection held
    # from one thread hop to the next would deadlock here until the pool timeout turned it into 503s.
    proc, base = _start_uvicorn()
    try:
        email = f"load-{uuid.uuid4().hex[:8]}@example.com"
        _, auth = _call(f"{base}/api/v1/auth/signup", {"email": email, "password": "load-password"})
        token = auth["access_token"]

        def one(i: int) -> int:
            if i % 10 == 0:
                return _call(f"{base}/api/v1/auth/login", {"email": email, "password": "load-password"})[0]
            if i % 2:
                return _call(f"{base}/api/v1/tasks", {"title": f"load {i}"}, token)[0]
            return _call(f"{base}/api/v1/tasks", token=token)[0]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=80) as pool:
            statuses = list(pool.map(one, range(240)))
        elapsed = time.monotonic() - started
    finally:
        output = _stop(proc)
    assert all(s in (200, 201) for s in statuses), (sorted(set(statuses)), output[-2000:])
    assert elapsed < 9, f"240 requests took {elapsed:.1f}s"


def test_uvicorn_serves_shuts_down_on_sigterm_and_logs_no_secrets() -> None:
    secret = "uvicorn-secret-" + uuid.uuid4().hex + uuid.uuid4().hex
    proc, base = _start_uvicorn(BETTER_AUTH_SECRET=secret, LOG_LEVEL="DEBUG")
    try:
        assert _call(f"{base}/health") == (200, {"status": "ok", "database": "ok"})
        email = f"proc-{uuid.uuid4().hex[:8]}@example.com"
        password = "process-password-123"
        status, auth = _call(f"{base}/api/v1/auth/signup", {"email": email, "password": password})
        assert status == 201
        status, _ = _call(f"{base}/api/v1/tasks", {"title": "from a real server"}, auth["access_token"])
        assert status == 201
        assert _call(f"{base}/api/v1/auth/logout", {"refresh_token": auth["refresh_token"]})[0] == 200
        assert _call(f"{base}/api/v1/auth/me", token=auth["access_token"])[0] == 401
    finally:
        output = _stop(proc)
    # uvicorn drains and runs the lifespan shutdown, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output and "stopped" in output
    db_password = load_settings().database_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[-1]
    for secret_value in (secret, auth["access_token"], auth["refresh_token"], password, db_password):
        assert secret_value not in output


def test_uvicorn_serves_metrics_on_their_own_port_and_frees_it_on_sigterm() -> None:
    metrics_port = _free_port()
    proc, base = _start_uvicorn(METRICS_PORT=str(metrics_port))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as res:
            body = res.read().decode()
        assert res.status == 200 and 'taskflow_db_pool_connections_in_use{pool="requests"}' in body
        assert "# TYPE taskflow_chat_turns_total counter" in body and "python_gc_objects_collected_total" not in body
        # The API's port does not serve them: the Ingress routes that one.
        assert _call(f"{base}/metrics")[0] == 404
    finally:
        output = _stop(proc)
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert f"metrics on port {metrics_port} at /metrics" in output
    with socket.socket() as s:
        # Nothing listens there any more (the scrape's connection may still linger in TIME_WAIT).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", metrics_port))
