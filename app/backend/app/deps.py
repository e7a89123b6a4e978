"""Request dependencies: the settings, a database session, and the signed-in user behind a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from .config import Settings
from .models import AuthSession, User
from .schemas import TOKEN_MAX
from .security import TokenError, decode_token, now_utc

_bearer = HTTPBearer(auto_error=False, description="The access_token from signup, login or refresh.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


@dataclass
class Principal:
    user: User
    session: AuthSession


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
    session = load_session(db, claims.user_id, claims.session_id)
    user = db.get(User, claims.user_id)
    if user is None:
        raise unauthorized("User no longer exists")
    return Principal(user=user, session=session)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
OptionalBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
