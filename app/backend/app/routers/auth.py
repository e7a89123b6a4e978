"""Sign-up, login, logout, refresh and "who am I", with revocable sessions behind the tokens."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import Settings
from ..deps import DbDep, OptionalBearer, PrincipalDep, SettingsDep, bearer_token, load_session, session_not_live, unauthorized
from ..models import AuthSession, User
from ..schemas import AuthOut, LoginIn, LogoutIn, RefreshIn, SignupIn, StatusOut, UserOut
from ..security import (
    DummyHash,
    TokenType,
    TokenError,
    decode_token,
    encode_token,
    hash_password,
    new_id,
    now_utc,
    verify_password,
)

log = logging.getLogger("taskflow.auth")
router = APIRouter(prefix="/auth", tags=["auth"])

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "Missing, invalid, expired or revoked token"}}


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name)


def _issue(db: Session, settings: Settings, user: User, session: AuthSession | None = None) -> AuthOut:
    """Starts a session (or rotates the refresh token of an existing one), signs both tokens, commits."""
    if session is None:
        session = AuthSession(id=new_id(), user_id=user.id, refresh_jti=new_id(), expires_at=now_utc())
        db.add(session)
    refresh, refresh_claims = encode_token(
        secret=settings.auth_secret,
        user_id=user.id,
        session_id=session.id,
        token_type="refresh",
        ttl_seconds=settings.refresh_token_ttl_seconds,
    )
    access, _ = encode_token(
        secret=settings.auth_secret,
        user_id=user.id,
        session_id=session.id,
        token_type="access",
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    # The session lives as long as its newest refresh token; only that one token can renew it.
    session.refresh_jti = refresh_claims.jti
    session.expires_at = refresh_claims.expires_at
    out = AuthOut(access_token=access, refresh_token=refresh, user=_user_out(user))
    db.commit()
    return out


def _dummy_hash(request: Request, rounds: int) -> DummyHash:
    state = request.app.state
    if getattr(state, "dummy_hash", None) is None:
        state.dummy_hash = DummyHash(rounds)
    dummy: DummyHash = state.dummy_hash
    return dummy


# bcrypt takes a quarter second by design, so it always runs with no database connection checked
# out: otherwise a burst of logins would hold the whole pool while hashing.


@router.post(
    "/signup",
    response_model=AuthOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Email already registered"}},
)
def signup(body: SignupIn, db: DbDep, settings: SettingsDep) -> AuthOut:
    password_hash = hash_password(body.password, settings.bcrypt_rounds)
    name = (body.name or body.email.split("@", 1)[0])[:100]
    with db() as session:
        if session.scalar(select(User.id).where(User.email == body.email)) is not None:
            raise HTTPException(status_code=409, detail="Email already registered")
        user = User(email=body.email, name=name, password_hash=password_hash)
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            # Two sign-ups for one email at the same moment: the unique index decides.
            session.rollback()
            raise HTTPException(status_code=409, detail="Email already registered") from None
        log.info("user %d signed up", user.id)
        return _issue(session, settings, user)


@router.post("/login", response_model=AuthOut, responses={401: {"description": "Wrong email or password"}})
def login(body: LoginIn, request: Request, db: DbDep, settings: SettingsDep) -> AuthOut:
    with db() as session:
        found = session.execute(select(User.id, User.password_hash).where(User.email == body.email)).first()
    if found is None:
        _dummy_hash(request, settings.bcrypt_rounds).check(body.password)
        raise unauthorized("Invalid email or password")
    if not verify_password(body.password, found.password_hash):
        raise unauthorized("Invalid email or password")
    with db() as session:
        user = session.get(User, found.id)
        if user is None:
            raise unauthorized("Invalid email or password")
        # Expired sessions of this user are dead weight; clearing them here keeps the table small.
        session.execute(
            delete(AuthSession).where(
                AuthSession.user_id == user.id, AuthSession.expires_at < now_utc() - timedelta(days=1)
            )
        )
        return _issue(session, settings, user)


@router.post("/refresh", response_model=AuthOut, responses=_UNAUTHORIZED)
def refresh(body: RefreshIn, db: DbDep, settings: SettingsDep) -> AuthOut:
    try:
        claims = decode_token(body.refresh_token, secret=settings.auth_secret, expected_type="refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    with db() as session:
        auth_session = load_session(session, claims.user_id, claims.session_id)
        if auth_session.refresh_jti != claims.jti:
            # An older refresh token of this session came back: it was copied, so end the whole session.
            auth_session.revoked_at = now_utc()
            session.commit()
            log.warning("refresh token reuse detected; session of user %d revoked", claims.user_id)
            raise unauthorized("Refresh token was already used")
        user = session.get(User, claims.user_id)
        if user is None:
            raise unauthorized("User no longer exists")
        return _issue(session, settings, user, auth_session)


@router.post(
    "/logout",
    response_model=StatusOut,
    responses=_UNAUTHORIZED,
    description="Revokes the session of the refresh token in the body and/or of the bearer access token: "
    "both tokens are refused afterwards. 401 when neither names a live session.",
)
def logout(
    db: DbDep,
    settings: SettingsDep,
    credentials: OptionalBearer,
    body: LogoutIn | None = Body(default=None),
) -> StatusOut:
    wanted: list[tuple[str, TokenType]] = []
    token = bearer_token(credentials)
    if token is not None:
        wanted.append((token, "access"))
    if body is not None and body.refresh_token is not None:
        wanted.append((body.refresh_token, "refresh"))
    if not wanted:
        raise unauthorized("Not authenticated")
    with db() as session:
        revoked = 0
        for value, kind in wanted:
            try:
                claims = decode_token(value, secret=settings.auth_secret, expected_type=kind)
                auth_session = load_session(session, claims.user_id, claims.session_id)
            except (TokenError, HTTPException):
                continue
            auth_session.revoked_at = now_utc()
            revoked += 1
        if not revoked:
            raise session_not_live()
        session.commit()
    return StatusOut(status="logged_out")


@router.get("/me", response_model=UserOut, responses=_UNAUTHORIZED)
def me(principal: PrincipalDep) -> UserOut:
    return UserOut(id=principal.user_id, email=principal.email, name=principal.name)
