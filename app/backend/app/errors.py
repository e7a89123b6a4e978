"""Turns every kind of bad input or database trouble into a clear 4xx/503 JSON error instead of a 500."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import db_error_summary
from .pool import PoolTimeout

log = logging.getLogger("taskflow.errors")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413: at once when Content-Length says so, and
    while reading when a chunked body grows past the limit, so a huge upload is never held in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await JSONResponse({"detail": "Invalid Content-Length header"}, status_code=400)(scope, receive, send)
                return
            if length > self.max_bytes:
                await self._too_large(scope, receive, send)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions from body reading, so this becomes a plain 413.
                    raise HTTPException(status_code=413, detail=self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"Request body too large (limit {self.max_bytes} bytes)"

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"detail": self._detail()}, status_code=413)(scope, receive, send)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # FastAPI echoes each rejected value back ("input"); that can be a password or megabytes of text,
    # so only the location, the type and the message are returned.
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = [p if isinstance(p, (str, int)) else str(p) for p in err.get("loc", ())]
        out.append({"type": str(err.get("type", "value_error")), "loc": loc, "msg": str(err.get("msg", "Invalid value"))})
    return out


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _clean_errors(exc.errors())}, status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, db_error_summary(exc))
    return JSONResponse({"detail": "Database unavailable, try again shortly"}, status_code=503, headers={"Retry-After": "5"})


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # The schemas are meant to stop such values first; reaching here means a gap to close there.
    log.warning("%s %s: value refused by the database (%s)", request.method, request.url.path, db_error_summary(exc))
    return JSONResponse({"detail": "A value is out of range or not valid"}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s: unhandled error", request.method, request.url.path)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # psycopg's own errors and PoolTimeout come from the read pool (app/pool.py), SQLAlchemy's from the engines.
    for exc_type in (OperationalError, InterfaceError, PoolTimeoutError, psycopg.OperationalError, PoolTimeout):
        app.add_exception_handler(exc_type, _database_unavailable)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
