"""What the assistant tests share: the real MCP server (app/mcp) as a process, an app wired to it and to the
fake model, and a reader for the chat endpoint's server-sent events."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

MCP_DIR = Path(__file__).resolve().parents[2] / "mcp"
MCP_SECRET = secrets.token_urlsafe(48)
API_KEY = "sk-test-" + secrets.token_hex(16)
START_DEADLINE_SECONDS = 30.0


@dataclass
class McpServer:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_mcp_server(database_url: str) -> Iterator[McpServer]:
    """`python -m taskflow_mcp` as its image runs it, from this venv; yields once GET /health is 200."""
    port = _free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="taskflow-mcp-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "taskflow_mcp"],
        cwd=MCP_DIR,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url, "MCP_SHARED_SECRET": MCP_SECRET,
             "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "INFO"},
    )
    log_file.close()
    server = McpServer(f"http://127.0.0.1:{port}/mcp", proc, Path(log_file.name))
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"MCP server exited ({proc.returncode}):\n{server.log_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"MCP server not healthy after {START_DEADLINE_SECONDS}s:\n{server.log_text()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        server.log_path.unlink(missing_ok=True)


def model_settings(base: Settings, model_url: str, mcp_url: str, **overrides: Any) -> Settings:
    wired: dict[str, Any] = {
        "openai_api_key": API_KEY, "openai_base_url": model_url, "model_name": "fake-model", "mcp_url": mcp_url,
        "mcp_shared_secret": MCP_SECRET, "chat_timeout_seconds": 20,
    }
    return replace(base, **(wired | overrides))


@contextmanager
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while client.get("/health").status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError("app never became healthy")
            time.sleep(0.1)
        yield client


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]


def parse_sse(raw: str) -> list[Event]:
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        events.append(Event(name, json.loads("\n".join(data))))
    return events


def stream_chat(client: TestClient, api: str, headers: dict[str, str], message: str, **extra: Any) -> list[Event]:
    res = client.post(
        f"{api}/chat", headers={**headers, "Accept": "text/event-stream"}, json={"message": message, **extra}
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/event-stream")
    return parse_sse(res.text)


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


def one(events: list[Event], name: str) -> dict[str, Any]:
    found = [e.data for e in events if e.name == name]
    assert len(found) == 1, f"expected one {name!r} event, got {names(events)}"
    return found[0]
