"""Shared fixtures: the backend's tables on a real PostgreSQL (DATABASE_URL), the MCP server as a real
process on a free port, users, identity tokens minted as the README says the backend mints them, and
the mcp SDK's own client over streamable HTTP."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

if not os.environ.get("DATABASE_URL"):
    pytest.exit(
        "DATABASE_URL is not set: these tests need a real PostgreSQL, e.g. "
        "postgresql://user:pass@127.0.0.1:5432/db (npm test starts a throwaway one)",
        returncode=2,
    )

MCP_DIR = Path(__file__).resolve().parents[1]
BACKEND_DIR = MCP_DIR.parent / "backend"
# The backend owns the schema: its own models create the tables these tests run against.
sys.path.insert(0, str(BACKEND_DIR))
from app.config import normalise_database_url  # noqa: E402
from app.db import create_schema  # noqa: E402
from app.models import User  # noqa: E402

DATABASE_URL = os.environ["DATABASE_URL"]
# Long enough for HS512 too, so the "wrong algorithm" case fails for the algorithm, not the key length.
SECRET = secrets.token_urlsafe(48)
START_DEADLINE_SECONDS = 30.0


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    e = create_engine(normalise_database_url(DATABASE_URL))
    create_schema(e)
    yield e
    e.dispose()


# ---------------------------------------------------------------------------------------------
# The server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(env: dict[str, str] | None = None, *, wait_path: str = "/health/live") -> ServerProcess:
    """Runs `python -m taskflow_mcp` as the image does; returns once `wait_path` answers 200."""
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="taskflow-mcp-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "taskflow_mcp"],
        cwd=MCP_DIR,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": DATABASE_URL,
            "MCP_SHARED_SECRET": SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "INFO",
            **(env or {}),
        },
    )
    log_file.close()
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, Path(log_file.name))
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    last = "no answer"
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}) before it answered:\n{server.log_text()}")
        try:
            res = httpx2.get(server.url + wait_path, timeout=2)
            if res.status_code == 200:
                return server
            last = f"{res.status_code} {res.text}"
        except httpx2.HTTPError as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            stop_server(server)
            raise AssertionError(f"{wait_path} not 200 after {START_DEADLINE_SECONDS}s (last: {last}):\n{server.log_text()}")
        time.sleep(0.1)


def stop_server(server: ServerProcess) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=5)
    server.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def server(engine: Engine) -> Iterator[ServerProcess]:
    s = start_server(wait_path="/health")
    try:
        yield s
    finally:
        stop_server(s)


# ---------------------------------------------------------------------------------------------
# Users and their tokens


@dataclass(frozen=True)
class Account:
    id: int
    email: str

    def token(self, **overrides: Any) -> str:
        return mint(self.id, **overrides)


def make_user(engine: Engine, name: str = "Test User") -> Account:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:12]}@example.com"
    with Session(engine) as session:
        user = User(email=email, name=name, password_hash="not-a-real-hash")
        session.add(user)
        session.commit()
        return Account(user.id, email)


@pytest.fixture
def alice(engine: Engine) -> Account:
    return make_user(engine, "Alice")


@pytest.fixture
def bob(engine: Engine) -> Account:
    return make_user(engine, "Bob")


def mint(user_id: int | str, *, secret: str | None = None, ttl: int = 120, algorithm: str = "HS256", **claims: Any) -> str:
    """An identity token as the README specifies it; a claim passed as None is left out."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "taskflow-backend",
        "aud": "taskflow-mcp",
        "sub": str(user_id),
        "iat": now,
        "exp": now + ttl,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, SECRET if secret is None else secret, algorithm=algorithm)


# ---------------------------------------------------------------------------------------------
# The SDK's client


@asynccontextmanager
async def connect(server: ServerProcess, token: str | None, *, mode: str = "auto") -> AsyncIterator[Client]:
    """The mcp SDK's Client over its streamable HTTP transport, sending `token` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(server.mcp_url, http_client=http), mode=mode) as client:
            yield client


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a call that must have succeeded."""
    assert not result.is_error, error_text(result)
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def task_row(engine: Engine, task_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM tasks WHERE id = :id"), {"id": task_id}).mappings().first()
    return None if row is None else dict(row)


def count_tasks(engine: Engine, user_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM tasks WHERE user_id = :u"), {"u": user_id}).scalar_one())


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, which is how the SDK's task groups raise."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]
    return [exc]
