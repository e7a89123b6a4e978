"""Password hashing (bcrypt) and the signed JWTs (HS256) used as access and refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import bcrypt
import jwt

from .models import ID_MAX

ALGORITHM = "HS256"
ISSUER = "taskflow"
TokenType = Literal["access", "refresh"]


def _prehash(password: str) -> bytes:
    # bcrypt only reads 72 bytes (and bcrypt 5 refuses more), while a 128-character password can be
    # 512 bytes of UTF-8: hashing first keeps every character significant.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:
        return False


class DummyHash:
    """A hash to check against when the email is unknown, so that answer takes as long as a wrong password."""

    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        self._hash: str | None = None

    def check(self, password: str) -> None:
        if self._hash is None:
            self._hash = hash_password("not-a-real-password", self._rounds)
        verify_password(password, self._hash)


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: str
    jti: str
    type: TokenType
    expires_at: datetime


class TokenError(Exception):
    """The token is missing, malformed, forged, expired or of the wrong type."""


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def encode_token(
    *, secret: str, user_id: int, session_id: str, token_type: TokenType, ttl_seconds: int, jti: str | None = None
) -> tuple[str, TokenClaims]:
    issued = now_utc()
    expires = issued + timedelta(seconds=ttl_seconds)
    claims = TokenClaims(user_id, session_id, jti or new_id(), token_type, expires)
    payload = {
        "iss": ISSUER,
        "sub": str(user_id),
        "sid": session_id,
        "jti": claims.jti,
        "typ": token_type,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


def decode_token(token: str, *, secret: str, expected_type: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            # Pinning the algorithm refuses "none" and any key-confusion trick.
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "jti", "typ", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("Token has expired") from None
    except jwt.PyJWTError:
        raise TokenError("Invalid token") from None
    sub, sid, jti, typ = payload.get("sub"), payload.get("sid"), payload.get("jti"), payload.get("typ")
    if typ != expected_type:
        raise TokenError("Invalid token type")
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 10 and 0 < int(sub) <= ID_MAX):
        raise TokenError("Invalid token")
    if not (isinstance(sid, str) and isinstance(jti, str) and 0 < len(sid) <= 36 and 0 < len(jti) <= 36):
        raise TokenError("Invalid token")
    try:
        expires = datetime.fromtimestamp(payload["exp"], timezone.utc)
    except (OverflowError, OSError, ValueError, TypeError):
        raise TokenError("Invalid token") from None
    return TokenClaims(int(sub), sid, jti, expected_type, expires)
