"""Settings read from environment variables only, so the same image runs anywhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@localhost:5432/taskflow"
DEFAULT_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")
DEFAULT_MODEL_NAME = "gpt-4o-mini"
DEFAULT_MCP_URL = "http://localhost:8001/mcp"


def normalise_database_url(url: str) -> str:
    """Points any PostgreSQL URL at the psycopg 3 driver, the only one installed."""
    url = url.strip()
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def normalise_prefix(prefix: str) -> str:
    """'/api/v1/', 'api/v1' and '/api/v1' all mean '/api/v1'; '' or '/' mount at the root."""
    prefix = prefix.strip().strip("/")
    return f"/{prefix}" if prefix else ""


def normalise_mcp_url(url: str) -> str:
    """A bare server address ('http://release-mcp:8001', what a service link gives) means its /mcp endpoint."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if sep and "/" not in rest:
        return f"{url}/mcp"
    if sep and rest.endswith("/") and rest.count("/") == 1:
        return f"{url}mcp"
    return url


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _port(env: Mapping[str, str], name: str) -> int:
    port = _int(env, name, 0, minimum=0)
    if port > 65535:
        raise ValueError(f"{name} must be a port number (1-65535, or 0 for none), got {port}")
    return port


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Empty means "not configured": create_app refuses to start, the migration command doesn't care.
    auth_secret: str = field(default="", repr=False)
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    api_prefix: str = "/api/v1"
    log_level: str = "INFO"
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    # 12 is bcrypt's own default; tests lower it through the environment to stay fast.
    bcrypt_rounds: int = 12
    # Larger request bodies are refused with 413 before they are read into memory.
    max_body_bytes: int = 64 * 1024
    db_connect_timeout_seconds: int = 5
    # Connections of the request path's pool (tasks and token checks), and as many again for the task list's
    # read pool (app/pool.py); the rest of the app has its own small pool.
    db_pool_size: int = 10
    # How long `python -m app.migrate` waits for the database before giving up.
    migrate_timeout_seconds: int = 120

    # The assistant's model: any OpenAI-compatible chat-completions endpoint with tool calling.
    # With neither a key nor a base URL the rule-based offline assistant answers instead.
    openai_api_key: str = field(default="", repr=False)
    # Empty means OpenAI's own endpoint; Ollama, vLLM, LM Studio, Gemini or Anthropic's compatible APIs otherwise.
    openai_base_url: str = ""
    model_name: str = DEFAULT_MODEL_NAME
    # The MCP server whose tools the model uses, and the key of the identity tokens the backend signs for it.
    mcp_url: str = DEFAULT_MCP_URL
    mcp_shared_secret: str = field(default="", repr=False)
    # Bounds of one chat turn: model rounds that call tools, wall-clock time, tokens per model answer.
    max_tool_rounds: int = 5
    chat_timeout_seconds: int = 60
    max_tokens: int = 1024
    # Stored messages of a conversation sent back to the model with each new message.
    max_conversation_history: int = 20
    # Fair use of the model, per user across every replica (0: no limit): turns running at once, turns begun
    # in the last minute. The offline assistant is not limited.
    chat_max_concurrent_turns: int = 1
    chat_turns_per_minute: int = 10
    # Where Prometheus scrapes GET /metrics, apart from the API port (0: not served).
    metrics_port: int = 0

    @property
    def provider_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    origins = tuple(o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    rounds = _int(env, "BCRYPT_ROUNDS", 12, minimum=4)
    if rounds > 31:
        raise ValueError("BCRYPT_ROUNDS must be at most 31")
    return Settings(
        database_url=normalise_database_url(env.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL),
        auth_secret=env.get("BETTER_AUTH_SECRET", ""),
        cors_origins=origins or DEFAULT_CORS_ORIGINS,
        api_prefix=normalise_prefix(env.get("API_PREFIX", "/api/v1")),
        log_level=(env.get("LOG_LEVEL", "") or "INFO").strip().upper(),
        access_token_ttl_seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 3600),
        refresh_token_ttl_seconds=_int(env, "REFRESH_TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        bcrypt_rounds=rounds,
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, minimum=1024),
        db_connect_timeout_seconds=_int(env, "DB_CONNECT_TIMEOUT_SECONDS", 5),
        db_pool_size=_int(env, "DB_POOL_SIZE", 10),
        migrate_timeout_seconds=_int(env, "MIGRATE_TIMEOUT_SECONDS", 120),
        openai_api_key=env.get("OPENAI_API_KEY", "").strip(),
        openai_base_url=env.get("OPENAI_BASE_URL", "").strip(),
        model_name=env.get("MODEL_NAME", "").strip() or DEFAULT_MODEL_NAME,
        mcp_url=normalise_mcp_url(env.get("MCP_URL", "") or DEFAULT_MCP_URL),
        mcp_shared_secret=env.get("MCP_SHARED_SECRET", ""),
        max_tool_rounds=_int(env, "MAX_TOOL_ROUNDS", 5),
        chat_timeout_seconds=_int(env, "CHAT_TIMEOUT_SECONDS", 60),
        max_tokens=_int(env, "MAX_TOKENS", 1024, minimum=16),
        max_conversation_history=_int(env, "MAX_CONVERSATION_HISTORY", 20, minimum=0),
        chat_max_concurrent_turns=_int(env, "CHAT_MAX_CONCURRENT_TURNS", 1, minimum=0),
        chat_turns_per_minute=_int(env, "CHAT_TURNS_PER_MINUTE", 10, minimum=0),
        metrics_port=_port(env, "METRICS_PORT"),
    )


# The MCP server refuses a shorter MCP_SHARED_SECRET, so the backend's would be useless.
MIN_MCP_SECRET_LENGTH = 32


def assistant_misconfiguration(settings: Settings) -> str | None:
    """Why the model-backed assistant cannot work with these settings, or None."""
    if settings.provider_configured and len(settings.mcp_shared_secret) < MIN_MCP_SECRET_LENGTH:
        return (
            f"MCP_SHARED_SECRET must be set (at least {MIN_MCP_SECRET_LENGTH} characters, the MCP server's value) "
            "when a model provider is configured (OPENAI_API_KEY or OPENAI_BASE_URL)"
        )
    return None
