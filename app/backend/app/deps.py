"""Request dependencies: the settings, database sessions, and the signed-in user behind a bearer token.

Everything here is async and does its database work on the event loop (the async engine), so it costs
no worker-thread hop: FastAPI runs each sync dependency in a hop of its own.

Sync endpoints (auth, the assistant) still open their own session with `with db() as session:` inside
their one hop. A pooled connection held from one hop to the next (a session opened by a dependency and
closed after the endpoint) can deadlock under load: every worker thread waits for a connection while
every connection waits for a thread. So no dependency hands an open session to an endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session

from .config import Settings
from .models import AuthSession, User
from .pool import ConnectionPool
from .schemas import TOKEN_MAX
from .security import TokenClaims, TokenError, decode_token, now_utc

_bearer = HTTPBearer(auto_error=False, description="The access_token from signup, login or refresh.")

SessionFactory = Callable[[], Session]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session_factory(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.sessionmaker
    return factory


async def get_async_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.async_engine
    return engine


async def get_read_pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.read_pool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[SessionFactory, Depends(get_session_factory)]
AsyncDbDep = Annotated[AsyncEngine, Depends(get_async_engine)]
ReadPoolDep = Annotated[ConnectionPool, Depends(get_read_pool)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def session_not_live() -> HTTPException:
    """The 401 for a token whose session was revoked, expired or never existed (LIVE_SESSION's rules)."""
    return unauthorized("Session is no longer valid")


@dataclass(frozen=True)
class Principal:
    """The signed-in user, as plain values: usable after the session that loaded it is closed."""

    user_id: int
    email: str
    name: str
    session_id: str


def load_session(db: Session, user_id: int, session_id: str) -> AuthSession:
    """The live session a token belongs to, or 401 if it was revoked, expired or never existed."""
    row = db.get(AuthSession, session_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now_utc():
        raise session_not_live()
    return row


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is None:
        return None
    token = credentials.credentials.strip()
    return token if 0 < len(token) <= TOKEN_MAX else ""


# What makes a token's session live: it exists, belongs to the token's user, was not revoked and has
# not expired. Bound as session_id, user_id and now; to be joined on users and auth_sessions.
LIVE_SESSION = (
    AuthSession.id == bindparam("session_id"),
    User.id == bindparam("user_id"),
    AuthSession.revoked_at.is_(None),
    AuthSession.expires_at > bindparam("now"),
)

# One round trip: the user together with the live session the token names. Built once: SQLAlchemy
# then finds its compiled form by a cache key it remembers, instead of building and hashing a new
# statement on every request.
_PRINCIPAL = select(User.id, User.email, User.name).join(AuthSession, AuthSession.user_id == User.id).where(*LIVE_SESSION)


async def get_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    token = bearer_token(credentials)
    if token is None:
        raise unauthorized("Not authenticated")
    # The settings straight from the app, not through get_settings: every authenticated request passes
    # here, and each dependency FastAPI resolves costs more than the attribute lookup.
    settings: Settings = request.app.state.settings
    try:
        return decode_token(token, secret=settings.auth_secret, expected_type="access")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]


async def authenticate(conn: AsyncConnection, claims: TokenClaims) -> Principal:
    row = (await conn.execute(
        _PRINCIPAL, {"session_id": claims.session_id, "user_id": claims.user_id, "now": now_utc()}
    )).first()
    if row is None:
        raise session_not_live()
    return Principal(user_id=row.id, email=row.email, name=row.name, session_id=claims.session_id)


async def get_principal(engine: AsyncDbDep, claims: ClaimsDep) -> Principal:
    # The connection goes back to the pool as soon as the session is checked: the assistant's routes
    # hold their request for a whole model turn.
    async with engine.connect() as conn:
        return await authenticate(conn, claims)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
OptionalBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
