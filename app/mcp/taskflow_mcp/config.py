"""Settings read from environment variables only, so the same image runs anywhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@localhost:5432/taskflow"
DEFAULT_PORT = 8001
# HS256 needs a key of at least 256 bits to mean anything (RFC 7518 3.2); the backend asks the same.
MIN_SECRET_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def normalise_database_url(url: str) -> str:
    """Points any PostgreSQL URL at the psycopg 3 driver, the only one installed (as the backend does)."""
    url = url.strip()
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Verifies the identity tokens the backend sends; empty means "not configured" and create_app refuses.
    shared_secret: str = field(default="", repr=False)
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    db_connect_timeout_seconds: int = 5
    # Seconds uvicorn gives open requests to finish on SIGTERM.
    graceful_timeout_seconds: int = 20


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    log_level = (env.get("LOG_LEVEL", "") or "INFO").strip().upper()
    if log_level not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    return Settings(
        database_url=normalise_database_url(env.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL),
        shared_secret=env.get("MCP_SHARED_SECRET", ""),
        host=(env.get("HOST", "") or "0.0.0.0").strip(),
        port=_int(env, "PORT", DEFAULT_PORT, 1, 65535),
        log_level=log_level,
        db_connect_timeout_seconds=_int(env, "DB_CONNECT_TIMEOUT_SECONDS", 5, 1, 300),
        graceful_timeout_seconds=_int(env, "GRACEFUL_TIMEOUT", 20, 0, 3600),
    )


def check_secret(secret: str) -> None:
    """Raises with what to do when the shared secret is missing or too short to sign with."""
    if not secret:
        raise ValueError("MCP_SHARED_SECRET is not set: the server needs it to verify who is calling")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"MCP_SHARED_SECRET is too short: use at least {MIN_SECRET_LENGTH} characters")
