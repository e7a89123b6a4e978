"""Request dependencies: the settings, database sessions, and the signed-in user behind a bearer token.

Sync endpoints and sync dependencies each run in a separate worker-thread hop. A pooled connection
held from one hop to the next (a session opened by a dependency and closed after the endpoint) can
deadlock under load: every worker thread waits for a connection while every connection waits for a
thread. So nothing here hands an open session across hops: the principal is loaded and its session
closed inside one hop, and endpoints open their own session with `with db() as session:`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from .config import Settings
from .models import AuthSession, User
from .schemas import TOKEN_MAX
from .security import TokenError, decode_token, now_utc

_bearer = HTTPBearer(auto_error=False, description="The access_token from signup, login or refresh.")

SessionFactory = Callable[[], Session]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.sessionmaker
    return factory


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[SessionFactory, Depends(get_session_factory)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


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
        raise unauthorized("Session is no longer valid")
    return row


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is None:
        return None
    token = credentials.credentials.strip()
    return token if 0 < len(token) <= TOKEN_MAX else ""


def get_principal(
    db: DbDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = bearer_token(credentials)
    if token is None:
        raise unauthorized("Not authenticated")
    try:
        claims = decode_token(token, secret=settings.auth_secret, expected_type="access")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    with db() as session:
        # One round trip: the user together with the live session the token names.
        row = session.execute(
            select(User.id, User.email, User.name)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                AuthSession.id == claims.session_id,
                User.id == claims.user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now_utc(),
            )
        ).first()
    if row is None:
        raise unauthorized("Session is no longer valid")
    return Principal(user_id=row.id, email=row.email, name=row.name, session_id=claims.session_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
OptionalBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
