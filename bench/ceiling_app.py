"""The ceiling for GET /api/v1/tasks: the least a FastAPI app can do to give the backend's answer.

bench/api-ceiling.bench.ts runs it beside the backend with the same uvicorn, database and token. Per
request it does the backend's work and nothing more: it verifies the same HS256 access token with the
same checks, looks the session up with the same query, reads the caller's tasks, and answers with the
bytes FastAPI would send for `list[TaskOut]` (pydantic's dump_json). No ORM, no thread hops: async
psycopg connections in autocommit mode, two round trips per request.

    DATABASE_URL=postgresql://... BETTER_AUTH_SECRET=... uvicorn ceiling_app:app --app-dir bench
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import jwt
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter

SECRET = os.environ["BETTER_AUTH_SECRET"]
DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
POOL_SIZE = int(os.environ.get("CEILING_POOL_SIZE", "10"))
ID_MAX = 2_147_483_647


class TaskOut(BaseModel):
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


TASKS = TypeAdapter(list[TaskOut])

SESSION_SQL = (
    "SELECT users.id, users.email, users.name FROM users JOIN auth_sessions ON auth_sessions.user_id = users.id "
    "WHERE auth_sessions.id = %s AND users.id = %s AND auth_sessions.revoked_at IS NULL AND auth_sessions.expires_at > %s"
)
TASKS_SQL = (
    "SELECT id, title, description, completed, created_at, updated_at FROM tasks WHERE user_id = %s ORDER BY id"
)
COLUMNS = ("id", "title", "description", "completed", "created_at", "updated_at")

pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    for _ in range(POOL_SIZE):
        pool.put_nowait(await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True))
    yield
    while not pool.empty():
        await pool.get_nowait().close()


app = FastAPI(lifespan=lifespan)


def unauthorized(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def claims_of(token: str) -> tuple[int, str] | None:
    """The backend's access-token checks (app/security.py decode_token): (user id, session id) or None."""
    try:
        payload = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer="taskflow",
            options={"require": ["exp", "iat", "sub", "sid", "jti", "typ", "iss"]},
        )
    except jwt.PyJWTError:
        return None
    sub, sid, jti, typ = payload.get("sub"), payload.get("sid"), payload.get("jti"), payload.get("typ")
    if typ != "access":
        return None
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 10 and 0 < int(sub) <= ID_MAX):
        return None
    if not (isinstance(sid, str) and isinstance(jti, str) and 0 < len(sid) <= 36 and 0 < len(jti) <= 36):
        return None
    return int(sub), sid


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/tasks")
async def list_tasks(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return unauthorized("Not authenticated")
    claims = claims_of(token.strip())
    if claims is None:
        return unauthorized("Invalid token")
    user_id, session_id = claims
    conn = await pool.get()
    try:
        cur = await conn.execute(SESSION_SQL, (session_id, user_id, datetime.now(timezone.utc)))
        if await cur.fetchone() is None:
            return unauthorized("Session is no longer valid")
        cur = await conn.execute(TASKS_SQL, (user_id,))
        rows = await cur.fetchall()
    finally:
        pool.put_nowait(conn)
    body = TASKS.dump_json(TASKS.validate_python([dict(zip(COLUMNS, row)) for row in rows]))
    return Response(body, media_type="application/json")
