"""The process as the image runs it: `python -m taskflow_mcp`, its exit codes, its log lines and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from conftest import DATABASE_URL, MCP_DIR, SECRET, ServerProcess, start_server, stop_server


def run_module(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"MCP_SHARED_SECRET", "PORT", "DATABASE_URL"}}
    return subprocess.run(
        [sys.executable, "-m", "taskflow_mcp"], cwd=MCP_DIR, env={**base, **env}, capture_output=True, text=True, timeout=30
    )


def test_without_the_shared_secret_the_server_exits_2_and_says_what_is_missing() -> None:
    done = run_module({"DATABASE_URL": DATABASE_URL})
    assert done.returncode == 2
    assert "MCP_SHARED_SECRET is not set" in done.stderr


def test_a_bad_port_exits_2_naming_the_variable() -> None:
    done = run_module({"MCP_SHARED_SECRET": SECRET, "PORT": "http"})
    assert done.returncode == 2
    assert "PORT must be an integer" in done.stderr


def test_the_startup_line_names_the_database_without_its_password_and_nothing_logs_the_secret(server: ServerProcess) -> None:
    password = urlsplit(DATABASE_URL).password
    assert password
    log = server.log_text()
    assert "serving MCP at /mcp on port" in log
    assert ":***@" in log
    assert password not in log
    assert SECRET not in log


def test_sigterm_stops_the_server_promptly_and_cleanly() -> None:
    s = start_server()
    try:
        started = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=20)
        assert time.monotonic() - started < 10
        # uvicorn re-raises the signal it caught once shutdown is done.
        assert code in (0, -signal.SIGTERM), code
        assert "stopped" in s.log_text()
    finally:
        stop_server(s)
