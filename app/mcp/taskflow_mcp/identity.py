"""Who is calling: the user the backend vouches for, in a short-lived token on every HTTP request.

The backend (the MCP client) sends `Authorization: Bearer <jwt>` on each request of the MCP
connection. The token is HS256-signed with MCP_SHARED_SECRET and names the user in `sub`; the
tools read the user id from it and from nowhere else. No tool takes a user id as an argument, so
the model that chooses tool arguments cannot choose whose tasks it touches.

Claims, all required:
  iss = "taskflow-backend"   aud = "taskflow-mcp"   sub = the user id as a decimal string
  iat, exp = seconds since the epoch, exp - iat <= 300
"""

from __future__ import annotations

import logging

import jwt
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver.exceptions import ToolError

from .store import ID_MAX

log = logging.getLogger("taskflow_mcp.identity")

ALGORITHM = "HS256"
TOKEN_ISSUER = "taskflow-backend"
# A token for this server and no other: the backend's own access tokens carry no audience and are refused.
TOKEN_AUDIENCE = "taskflow-mcp"
# A token outlives its request by little: a leaked one is useless within minutes, however it was minted.
MAX_TOKEN_LIFETIME_SECONDS = 300
# Tolerated clock difference between the backend's pod and this one.
CLOCK_SKEW_SECONDS = 30
# Ours are ~200 characters; the cap only stops absurd inputs before they reach the decoder.
TOKEN_MAX_LENGTH = 2048


class TokenRefused(Exception):
    """The token is malformed, forged, expired, too long-lived, or not meant for this server."""


def decode_identity(token: str, secret: str) -> tuple[int, int]:
    """The user id a token vouches for and when it expires; raises TokenRefused with the reason."""
    if not 0 < len(token) <= TOKEN_MAX_LENGTH:
        raise TokenRefused("malformed")
    try:
        payload = jwt.decode(
            token,
            secret,
            # Pinning the algorithm refuses "none" and any key-confusion trick.
            algorithms=[ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "aud", "sub", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("expired") from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused("issued in the future") from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
        raise TokenRefused("not issued by the backend for this server") from None
    except jwt.PyJWTError:
        raise TokenRefused("invalid") from None
    sub, iat, exp = payload["sub"], payload["iat"], payload["exp"]
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 10 and 0 < int(sub) <= ID_MAX):
        raise TokenRefused("subject is not a user id")
    if not (isinstance(iat, int) and isinstance(exp, int)) or exp - iat > MAX_TOKEN_LIFETIME_SECONDS:
        raise TokenRefused(f"lifetime over {MAX_TOKEN_LIFETIME_SECONDS} s")
    return int(sub), exp


class IdentityTokenVerifier:
    """The SDK's TokenVerifier: its bearer middleware calls this for every request to /mcp and answers
    401 when it returns None. What it returns is what `get_access_token()` gives the tools."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            user_id, expires_at = decode_identity(token, self._secret)
        except TokenRefused as exc:
            # The reason only: the token itself is a credential and is never logged.
            log.info("refused a bearer token: %s", exc)
            return None
        return AccessToken(
            token=token,
            client_id=TOKEN_ISSUER,
            scopes=[],
            expires_at=expires_at,
            subject=str(user_id),
            claims={"iss": TOKEN_ISSUER},
        )


def caller_id() -> int:
    """The user id of the HTTP request this tool call arrived on.

    The SDK keeps the verified token in a context variable set per request and carries it to the
    task that runs the tool, so two users' calls in flight together each see their own."""
    token = get_access_token()
    if token is None or token.subject is None:
        # The bearer middleware answers 401 before a call gets here; this keeps a tool from ever
        # running without a user should that wiring change.
        raise ToolError("Not authenticated")
    return int(token.subject)
