"""Sign-up, login, logout, refresh and "who am I", with revocable sessions behind the tokens."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Body, HTTPException, Request, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import Settings
from ..deps import DbDep, OptionalBearer, PrincipalDep, SettingsDep, bearer_token, load_session, unauthorized
from ..models import AuthSession, User
from ..schemas import AuthOut, LoginIn, LogoutIn, RefreshIn, SignupIn, StatusOut, UserOut
from ..security import (
    DummyHash,
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

_UNAUTHORIZED = {401: {"description": "Missing, invalid, expired or revoked token"}}


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name)


def _issue(db: Session, settings: Settings, user: User, session: AuthSession | None = None) -> AuthOut:
    """Starts a session (or rotates the refresh token of an existing one) and signs both tokens."""
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
    db.commit()
    return AuthOut(access_token=access, refresh_token=refresh, user=_user_out(user))


def _dummy_hash(request: Request, rounds: int) -> DummyHash:
    state = request.app.state
    if getattr(state, "dummy_hash", None) is None:
        state.dummy_hash = DummyHash(rounds)
    dummy: DummyHash = state.dummy_hash
    return dummy


@router.post(
    "/signup",
    response_model=AuthOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Email already registered"}},
)
def signup(body: SignupIn, db: DbDep, settings: SettingsDep) -> AuthOut:
    if db.scalar(select(User.id).where(User.email == body.email)) is not None:
        raise HTTPException(status_code=409, detail="Email already registered")
    name = body.name or body.email.split("@", 1)[0]
    user = User(email=body.email, name=name[:100], password_hash=hash_password(body.password, settings.bcrypt_rounds))
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        # Two sign-ups for one email at the same moment: the unique index decides.
        db.rollback()
        raise HTTPException(status_code=409, detail="Email already registered") from None
    log.info("user %d signed up", user.id)
    return _issue(db, settings, user)


@router.post("/login", response_model=AuthOut, responses={401: {"description": "Wrong email or password"}})
def login(body: LoginIn, request: Request, db: DbDep, settings: SettingsDep) -> AuthOut:
    user = db.scalar(select(User).where(User.email == body.email))
    if user is None:
        _dummy_hash(request, settings.bcrypt_rounds).check(body.password)
        raise unauthorized("Invalid email or password")
    if not verify_password(body.password, user.password_hash):
        raise unauthorized("Invalid email or password")
    # Expired sessions of this user are dead weight; clearing them here keeps the table small.
    db.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at < now_utc() - timedelta(days=1))
    )
    return _issue(db, settings, user)


@router.post("/refresh", response_model=AuthOut, responses=_UNAUTHORIZED)
def refresh(body: RefreshIn, db: DbDep, settings: SettingsDep) -> AuthOut:
    try:
        claims = decode_token(body.refresh_token, secret=settings.auth_secret, expected_type="refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    session = load_session(db, claims.user_id, claims.session_id)
    if session.refresh_jti != claims.jti:
        # An older refresh token of this session came back: it was copied, so end the whole session.
        session.revoked_at = now_utc()
        db.commit()
        log.warning("refresh token reuse detected; session of user %d revoked", claims.user_id)
        raise unauthorized("Refresh token was already used")
    user = db.get(User, claims.user_id)
    if user is None:
        raise unauthorized("User no longer exists")
    return _issue(db, settings, user, session)


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
    sessions: list[AuthSession] = []
    supplied = 0
    token = bearer_token(credentials)
    if token is not None:
        supplied += 1
        try:
            claims = decode_token(token, secret=settings.auth_secret, expected_type="access")
            sessions.append(load_session(db, claims.user_id, claims.session_id))
        except (TokenError, HTTPException):
            pass
    if body is not None and body.refresh_token is not None:
        supplied += 1
        try:
            claims = decode_token(body.refresh_token, secret=settings.auth_secret, expected_type="refresh")
            sessions.append(load_session(db, claims.user_id, claims.session_id))
        except (TokenError, HTTPException):
            pass
    if not sessions:
        raise unauthorized("Not authenticated" if supplied == 0 else "Session is no longer valid")
    revoked_at = now_utc()
    for session in sessions:
        session.revoked_at = revoked_at
    db.commit()
    return StatusOut(status="logged_out")


@router.get("/me", response_model=UserOut, responses=_UNAUTHORIZED)
def me(principal: PrincipalDep) -> UserOut:
    return _user_out(principal.user)
