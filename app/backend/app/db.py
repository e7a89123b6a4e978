"""Engine, sessions and schema creation, with the retry-with-backoff used while PostgreSQL comes up."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .models import Base

log = logging.getLogger("taskflow.db")

# Any constant works; it only has to be the same in every replica and in the migration Job.
_SCHEMA_LOCK_KEY = 0x7A5C_F10E


# Each idempotent, oldest first; a new column needs a default, since rows already exist.
_ADDED_COLUMNS = ("ALTER TABLE messages ADD COLUMN IF NOT EXISTS partial boolean NOT NULL DEFAULT false",)

# A pooled connection unused for longer than this is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 5.0


def connect_args(settings: Settings) -> dict[str, Any]:
    return {"connect_timeout": settings.db_connect_timeout_seconds, "application_name": "taskflow-backend"}


def ping_when_idle(engine: Engine, after_seconds: float | None = None) -> None:
    """Connections dropped by a database restart are replaced instead of failing one request each.

    pool_pre_ping does that with a round trip on every checkout, which under load is one round trip in
    three. A connection that went back to the pool moments ago is almost never dead, and if it is, the
    first error invalidates the whole pool anyway; so only connections idle for a while are pinged."""

    def idle_limit() -> float:
        return PING_AFTER_IDLE_SECONDS if after_seconds is None else after_seconds

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_limit():
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def make_engine(settings: Settings) -> Engine:
    """The sync engine: sign-up and login, the assistant, health checks and the schema."""
    engine = create_engine(
        settings.database_url,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args=connect_args(settings),
    )
    ping_when_idle(engine)
    return engine


def make_async_engine(settings: Settings) -> AsyncEngine:
    """The engine of the request path that carries the load: the token's session lookup and the task routes.

    They run on the event loop (psycopg's async driver), so a request costs no thread hops, and waiting
    for a connection holds no thread. Each of their statements stands alone (a read, or one INSERT,
    UPDATE or DELETE ... RETURNING), so autocommit spares the BEGIN and ROLLBACK round trips around it.
    The pool never overflows: a connection opened for a burst and closed after it is a PostgreSQL login
    per request; requests beyond the pool wait their turn instead."""
    engine = create_async_engine(
        settings.database_url,
        isolation_level="AUTOCOMMIT",
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=10,
        connect_args=connect_args(settings),
    )
    ping_when_idle(engine.sync_engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def describe_url(engine: Engine) -> str:
    """The URL without its password, for log lines."""
    return engine.url.render_as_string(hide_password=True)


def db_error_summary(exc: BaseException) -> str:
    """One line naming the failure; driver messages never contain the password."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:300]


def create_schema(engine: Engine) -> None:
    """Creates missing tables. Idempotent; the advisory lock keeps replicas and the migration Job
    that start together from racing on CREATE TABLE."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
        Base.metadata.create_all(conn)
        # Columns added after a table was first made: create_all leaves existing tables as they are.
        for statement in _ADDED_COLUMNS:
            conn.execute(text(statement))


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def retry_with_backoff(
    action: Callable[[], None],
    *,
    what: str,
    deadline_seconds: float | None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], object] = time.sleep,
    initial_delay: float = 0.5,
    max_delay: float = 10.0,
) -> bool:
    """Runs `action` until it succeeds (True) or the deadline passes or `should_stop` says so (False).
    Only connection-level failures are retried: a bad schema or SQL error is a bug and is raised."""
    started = time.monotonic()
    delay = initial_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            action()
            if attempt > 1:
                log.info("%s: succeeded on attempt %d", what, attempt)
            return True
        except OperationalError as exc:
            elapsed = time.monotonic() - started
            if deadline_seconds is not None and elapsed + delay > deadline_seconds:
                log.error("%s: attempt %d failed (%s); giving up after %.0fs", what, attempt, db_error_summary(exc), elapsed)
                return False
            log.warning(
                "%s: attempt %d failed (%s); retrying in %.1fs", what, attempt, db_error_summary(exc), delay
            )
        if should_stop():
            return False
        sleep(delay)
        if should_stop():
            return False
        delay = min(delay * 2, max_delay)
