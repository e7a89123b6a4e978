"""A small pool of psycopg connections for the busiest read (GET /tasks), with no SQLAlchemy in between.

Checking a connection out of SQLAlchemy's async pool and back in costs two greenlet hops and a Connection
object, about as much as the query itself; here it is a deque pop and push. The pool keeps the async
engine's rules: autocommit, at most `size` connections (requests beyond that wait, up to `wait_timeout`),
and a connection idle for a while is pinged before it is used again. A connection that broke is
dropped, and every idle one is pinged before its next use, as SQLAlchemy invalidates its pool after a
disconnect: a database restart then fails the requests already on their way, not one request per
pooled connection."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import DictRow, dict_row
from sqlalchemy import make_url

from .config import Settings
from .db import PING_AFTER_IDLE_SECONDS, connect_args


class PoolTimeout(Exception):
    """Every connection stayed busy for the whole wait: the database is too slow to keep up."""


class ConnectionPool:
    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        wait_timeout: float,
        connect_args: Mapping[str, Any],
        ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    ) -> None:
        self._conninfo = conninfo
        self._connect_args = dict(connect_args)
        self._wait_timeout = wait_timeout
        self._ping_after_idle = ping_after_idle
        self._slots = asyncio.Semaphore(size)
        # (connection, when it came back); the newest is reused first, so a quiet spell lets the rest idle.
        self._idle: deque[tuple[psycopg.AsyncConnection[Any], float]] = deque()
        # Connections returned before this moment are pinged before use: one broke since.
        self._suspect_before = 0.0
        # Statements holding a slot right now, for the metrics.
        self.in_use = 0

    async def fetch_all(self, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> list[DictRow]:
        """Runs one statement on a pooled connection and returns its rows as dicts."""
        await self._take_slot()
        self.in_use += 1
        try:
            conn = await self._checkout()
            try:
                cursor = conn.cursor(row_factory=dict_row)
                await cursor.execute(sql, params)
                rows = await cursor.fetchall()
            except BaseException:
                await self._discard_if_unusable(conn)
                raise
            self._checkin(conn)
            return rows
        finally:
            self.in_use -= 1
            self._slots.release()

    async def close(self) -> None:
        while self._idle:
            conn, _ = self._idle.pop()
            await conn.close()

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(self._wait_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolTimeout(f"no database connection free within {self._wait_timeout:g}s") from None

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        while self._idle:
            conn, returned = self._idle.pop()
            if returned >= self._suspect_before and time.monotonic() - returned < self._ping_after_idle:
                return conn
            try:
                await conn.execute("SELECT 1")
                return conn
            except psycopg.Error:
                await conn.close()
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, **self._connect_args)

    def _checkin(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._idle.append((conn, time.monotonic()))

    async def _discard_if_unusable(self, conn: psycopg.AsyncConnection[Any]) -> None:
        # A statement that failed on a healthy connection (autocommit, so no transaction is left open)
        # leaves it reusable; a lost connection, or one cancelled mid-statement, is closed.
        if conn.broken or conn.closed:
            self._suspect_before = time.monotonic()
        if conn.broken or conn.closed or conn.info.transaction_status != pq.TransactionStatus.IDLE:
            await conn.close()
        else:
            self._checkin(conn)


def conninfo_of(settings: Settings) -> str:
    """DATABASE_URL as psycopg takes it: without SQLAlchemy's +psycopg driver suffix."""
    return make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_read_pool(settings: Settings) -> ConnectionPool:
    """Connects lazily, so the app starts (and /health answers 503) while the database is down."""
    return ConnectionPool(
        conninfo_of(settings), size=settings.db_pool_size, wait_timeout=10, connect_args=connect_args(settings)
    )
