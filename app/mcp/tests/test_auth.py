"""Calls without a valid identity token are refused before any tool runs, and refusals log no credential."""

from __future__ import annotations

import time

import httpx2
import jwt
import pytest
from conftest import SECRET, Account, ServerProcess, connect, error_text, leaf_exceptions, make_user, mint, ok
from mcp.shared.exceptions import MCPError
from sqlalchemy import Engine, text

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


def post_mcp(server: ServerProcess, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(server.mcp_url, json=LIST_TOOLS, headers={**ACCEPT, **headers}, timeout=10)


def test_a_request_with_a_valid_token_gets_through(server: ServerProcess, alice: Account) -> None:
    # The control for the refusals below: the same request, with a good token, is answered.
    res = post_mcp(server, {"Authorization": f"Bearer {alice.token()}"})
    assert res.status_code == 200, res.text
    assert {t["name"] for t in res.json()["result"]["tools"]} >= {"add_task", "list_tasks"}


def test_a_request_without_a_token_is_refused_with_401(server: ServerProcess) -> None:
    res = post_mcp(server, {})
    assert res.status_code == 401
    assert res.headers["www-authenticate"].startswith("Bearer ")
    assert res.json()["error"] == "invalid_token"


def _now() -> int:
    return int(time.time())


BAD_TOKENS = {
    "signed with another secret": lambda uid: mint(uid, secret="another-secret-" + "y" * 40),
    "expired": lambda uid: mint(uid, iat=_now() - 400, exp=_now() - 100),
    "issued in the future": lambda uid: mint(uid, iat=_now() + 600, exp=_now() + 700),
    "lifetime over five minutes": lambda uid: mint(uid, ttl=3600),
    "for another audience": lambda uid: mint(uid, aud="taskflow-api"),
    "without an audience": lambda uid: mint(uid, aud=None),
    "from another issuer": lambda uid: mint(uid, iss="someone-else"),
    "without a subject": lambda uid: mint(uid, sub=None),
    "with a non-numeric subject": lambda uid: mint("alice"),
    "with subject 0": lambda uid: mint(0),
    "with a subject beyond 32 bits": lambda uid: mint(2**31),
    "without an expiry": lambda uid: mint(uid, exp=None),
    "signed with HS512": lambda uid: mint(uid, algorithm="HS512"),
    "unsigned (alg none)": lambda uid: jwt.encode(
        {"iss": "taskflow-backend", "aud": "taskflow-mcp", "sub": str(uid), "iat": _now(), "exp": _now() + 60}, None, algorithm="none"
    ),
    # The backend's own access token, even signed with this secret, is not an identity token.
    "shaped like the backend's access token": lambda uid: jwt.encode(
        {"iss": "taskflow", "sub": str(uid), "sid": "s", "jti": "j", "typ": "access", "iat": _now(), "exp": _now() + 60},
        SECRET,
        algorithm="HS256",
    ),
    "garbage": lambda uid: "not-a-jwt",
    "absurdly long": lambda uid: mint(uid, pad="x" * 5000),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_token_that_is_not_a_valid_identity_token_is_refused(server: ServerProcess, alice: Account, case: str) -> None:
    res = post_mcp(server, {"Authorization": f"Bearer {BAD_TOKENS[case](alice.id)}"})
    assert res.status_code == 401, f"{case}: {res.status_code} {res.text[:200]}"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_other_authorization_schemes_are_refused(server: ServerProcess, header: str) -> None:
    assert post_mcp(server, {"Authorization": header}).status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sdk_client_cannot_connect_without_a_valid_token(server: ServerProcess, alice: Account, mode: str) -> None:
    for token in (None, alice.token(secret="wrong-secret-" + "z" * 40)):
        with pytest.raises(BaseException) as caught:
            async with connect(server, token, mode=mode) as client:
                await client.call_tool("list_tasks", {})
        assert any(isinstance(e, MCPError) for e in leaf_exceptions(caught.value)), repr(caught.value)


@pytest.mark.anyio
async def test_a_valid_token_for_a_deleted_user_adds_nothing(server: ServerProcess, engine: Engine) -> None:
    ghost = make_user(engine, "Ghost")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": ghost.id})
    async with connect(server, ghost.token()) as client:
        added = await client.call_tool("add_task", {"title": "haunt"})
        listed = ok(await client.call_tool("list_tasks", {}))
    assert added.is_error
    assert error_text(added) == "Error executing tool add_task: Your account no longer exists"
    assert listed["count"] == 0


def test_refusals_are_logged_with_a_reason_and_no_credential(server: ServerProcess, alice: Account) -> None:
    expired = mint(alice.id, iat=_now() - 400, exp=_now() - 100)
    assert post_mcp(server, {"Authorization": f"Bearer {expired}"}).status_code == 401
    good = alice.token()
    assert post_mcp(server, {"Authorization": f"Bearer {good}"}).status_code == 200
    log = server.log_text()
    assert "refused a bearer token: expired" in log
    for credential in (expired, good, expired.split(".")[2], good.split(".")[2], SECRET):
        assert credential not in log
