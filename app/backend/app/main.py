"""The FastAPI application: `uvicorn app.main:app` serves it; `create_app` builds one for tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import errors
from .clients import AssistantClients
from .config import Settings, assistant_misconfiguration, load_settings
from .db import create_schema, describe_url, make_async_engine, make_engine, make_sessionmaker, retry_with_backoff
from .metrics import Metrics
from .pool import make_read_pool
from .routers import auth, chat, health, tasks

log = logging.getLogger("taskflow")

# The secret must be long enough for HS256 to be meaningful (RFC 7518 asks for >= 256 bits).
MIN_SECRET_LENGTH = 32


def configure_logging(level: str) -> None:
    logger = logging.getLogger("taskflow")
    logger.setLevel(getattr(logging, level, logging.INFO))
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    if not settings.auth_secret:
        raise RuntimeError("BETTER_AUTH_SECRET is not set: the backend needs it to sign tokens")
    if len(settings.auth_secret) < MIN_SECRET_LENGTH:
        raise RuntimeError(f"BETTER_AUTH_SECRET is too short: use at least {MIN_SECRET_LENGTH} characters")

    engine = make_engine(settings)
    async_engine = make_async_engine(settings)
    read_pool = make_read_pool(settings)
    schema_ready = threading.Event()
    stopping = threading.Event()
    assistant = AssistantClients(settings)
    metrics = Metrics()

    def prepare_database() -> None:
        # Runs until the database answers: the process keeps serving meanwhile and /health says 503.
        ok = retry_with_backoff(
            lambda: create_schema(engine),
            what=f"connecting to {describe_url(engine)}",
            deadline_seconds=None,
            should_stop=stopping.is_set,
            sleep=stopping.wait,
        )
        if ok:
            schema_ready.set()
            log.info("database ready, schema up to date")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("starting: api prefix %r, database %s", settings.api_prefix or "/", describe_url(engine))
        if settings.provider_configured:
            log.info("assistant: model %s at %s, tools from %s", settings.model_name,
                     settings.openai_base_url or "the OpenAI API", settings.mcp_url)
            if problem := assistant_misconfiguration(settings):
                # Not fatal: tasks and sign-in keep working, and each chat message reports this instead.
                log.error("assistant: %s", problem)
            assistant.open()
        else:
            log.info("assistant: offline (rule-based); set OPENAI_API_KEY or OPENAI_BASE_URL to use a model")
        if settings.metrics_port:
            metrics.serve(settings.metrics_port)
        task = asyncio.create_task(asyncio.to_thread(prepare_database))
        try:
            yield
        finally:
            # SIGTERM: uvicorn drains in-flight requests, then this closes the pool cleanly.
            stopping.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=settings.db_connect_timeout_seconds + 5)
            engine.dispose()
            await async_engine.dispose()
            # The app's pool, not the one built above: a test may have swapped in its own.
            await app.state.read_pool.close()
            await assistant.aclose()
            metrics.stop()
            log.info("stopped")

    app = FastAPI(
        title="TaskFlow API",
        version="1.0.0",
        description="Todo tasks with a chat assistant. Sign up or log in for a bearer token.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.async_engine = async_engine
    app.state.read_pool = read_pool
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.schema_ready = schema_ready
    app.state.assistant = assistant
    app.state.metrics = metrics
    metrics.watch_pools(
        lambda: {
            "requests": async_engine.sync_engine.pool.checkedout(),  # type: ignore[attr-defined]
            "task_list": app.state.read_pool.in_use,
            "app": engine.pool.checkedout(),  # type: ignore[attr-defined]
        }
    )

    errors.install(app, settings.max_body_bytes)
    wildcard = "*" in settings.cors_origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if wildcard else list(settings.cors_origins),
        # Browsers refuse credentials with "*"; tokens travel in a header, so none are needed then.
        allow_credentials=not wildcard,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )

    app.include_router(health.router)
    for router in (auth.router, tasks.router, chat.router):
        app.include_router(router, prefix=settings.api_prefix)
    return app


def __getattr__(name: str) -> FastAPI:
    # `app` is built on first access, so importing this module (tests, tools) needs no environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
