"""Sign-up, login, refresh, logout and token checks (expiry, forgery, revocation) against PostgreSQL."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from conftest import Account, sign_up, unique_email, wait_healthy
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(secret: str, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": "taskflow", "iat": now, "exp": now + 600, "typ": "access", "jti": "j", **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def test_signup_returns_tokens_and_user(client: TestClient, api: str) -> None:
    email = unique_email()
    res = client.post(f"{api}/auth/signup", json={"email": email, "password": "s3cret-pass", "name": "Ada"})
    assert res.status_code == 201
    body = res.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {"id": body["user"]["id"], "email": email, "name": "Ada"}
    assert isinstance(body["user"]["id"], int)
    assert body["access_token"] and body["refresh_token"] and body["access_token"] != body["refresh_token"]
    claims = claims_of(body["access_token"])
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert claims["sub"] == str(body["user"]["id"]) and claims["typ"] == "access"


def test_signup_normalises_email_and_defaults_name(client: TestClient, api: str) -> None:
    local = unique_email("Mixed").split("@")[0]
    res = client.post(f"{api}/auth/signup", json={"email": f"  {local}@Example.COM ", "password": "password123"})
    assert res.status_code == 201
    assert res.json()["user"]["email"] == f"{local.lower()}@example.com"
    assert res.json()["user"]["name"] == local.lower()


def test_duplicate_email_is_409_case_insensitively(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/signup", json={"email": user.email.upper(), "password": "another-pass"})
    assert res.status_code == 409
    assert res.json() == {"detail": "Email already registered"}


def test_login_and_me(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/login", json={"email": user.email, "password": user.password})
    assert res.status_code == 200
    body = res.json()
    assert body["user"] == {"id": user.id, "email": user.email, "name": user.name}
    me = client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {"id": user.id, "email": user.email, "name": user.name}


def test_each_login_is_its_own_session(client: TestClient, api: str, user: Account) -> None:
    second = client.post(f"{api}/auth/login", json={"email": user.email, "password": user.password}).json()
    assert client.post(f"{api}/auth/logout", json={"refresh_token": second["refresh_token"]}).status_code == 200
    # Logging out one device leaves the other signed in.
    assert client.get(f"{api}/auth/me", headers=user.headers).status_code == 200


@pytest.mark.parametrize("password", ["wrong-password", "correct horse batter", "CORRECT HORSE BATTERY"])
def test_wrong_password_is_401(client: TestClient, api: str, user: Account, password: str) -> None:
    res = client.post(f"{api}/auth/login", json={"email": user.email, "password": password})
    assert res.status_code == 401
    assert res.json() == {"detail": "Invalid email or password"}


def test_unknown_email_is_401_like_a_wrong_password(client: TestClient, api: str) -> None:
    res = client.post(f"{api}/auth/login", json={"email": unique_email(), "password": "whatever-123"})
    assert res.status_code == 401
    assert res.json() == {"detail": "Invalid email or password"}


def test_long_passwords_use_every_character(client: TestClient, api: str) -> None:
    # bcrypt alone ignores bytes past 72; two passwords sharing those must still differ.
    base = "é" * 40  # 80 bytes of UTF-8
    account = sign_up(client, api, password=base + "A")
    ok = client.post(f"{api}/auth/login", json={"email": account.email, "password": base + "A"})
    bad = client.post(f"{api}/auth/login", json={"email": account.email, "password": base + "B"})
    assert ok.status_code == 200 and bad.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "a" * 5000},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},
    ],
)
def test_missing_or_malformed_token_is_401(client: TestClient, api: str, headers: dict[str, str]) -> None:
    res = client.get(f"{api}/auth/me", headers=headers)
    assert res.status_code == 401
    assert isinstance(res.json()["detail"], str)
    assert res.headers["www-authenticate"] == "Bearer"


def test_token_signed_with_another_secret_is_401(client: TestClient, api: str, user: Account) -> None:
    claims = claims_of(user.access)
    token = forge("some-other-secret-that-is-long-enough-0123", sub=claims["sub"], sid=claims["sid"])
    assert client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_alg_none_token_is_401(client: TestClient, api: str, user: Account) -> None:
    claims = claims_of(user.access)
    token = jwt.encode({**claims}, key=None, algorithm="none")
    assert client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_expired_access_token_is_401(client: TestClient, api: str, app_settings: Settings, user: Account) -> None:
    claims = claims_of(user.access)
    past = int((datetime.now(timezone.utc) - timedelta(minutes=5)).timestamp())
    token = forge(app_settings.auth_secret, sub=claims["sub"], sid=claims["sid"], iat=past - 60, exp=past)
    res = client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 401
    assert res.json() == {"detail": "Token has expired"}
    # The same claims, still valid, are accepted: the expiry alone made the difference.
    fresh = forge(app_settings.auth_secret, sub=claims["sub"], sid=claims["sid"])
    assert client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_token_for_a_session_of_another_user_is_401(
    client: TestClient, api: str, app_settings: Settings, user: Account, other_user: Account
) -> None:
    sid = claims_of(other_user.access)["sid"]
    token = forge(app_settings.auth_secret, sub=str(user.id), sid=sid)
    assert client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_refresh_token_is_not_an_access_token(client: TestClient, api: str, user: Account) -> None:
    res = client.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {user.refresh}"})
    assert res.status_code == 401
    assert client.post(f"{api}/auth/refresh", json={"refresh_token": user.access}).status_code == 401


def test_short_ttl_from_settings_expires_access_token(app_settings: Settings) -> None:
    from dataclasses import replace

    short = create_app(replace(app_settings, access_token_ttl_seconds=1))
    with TestClient(short) as c:
        wait_healthy(c)
        api = app_settings.api_prefix
        account = sign_up(c, api)
        assert c.get(f"{api}/auth/me", headers=account.headers).status_code == 200
        time.sleep(2.1)
        expired = c.get(f"{api}/auth/me", headers=account.headers)
        assert expired.status_code == 401 and expired.json()["detail"] == "Token has expired"
        # The refresh token outlives it and brings a working access token back.
        renewed = c.post(f"{api}/auth/refresh", json={"refresh_token": account.refresh})
        assert renewed.status_code == 200
        token = renewed.json()["access_token"]
        assert c.get(f"{api}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_refresh_rotates_and_detects_reuse(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/refresh", json={"refresh_token": user.refresh})
    assert res.status_code == 200
    body = res.json()
    assert body["user"]["id"] == user.id and body["token_type"] == "bearer"
    assert body["refresh_token"] != user.refresh
    new_headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"{api}/auth/me", headers=new_headers).status_code == 200
    # The old refresh token coming back means it leaked: the whole session ends.
    reused = client.post(f"{api}/auth/refresh", json={"refresh_token": user.refresh})
    assert reused.status_code == 401
    assert client.get(f"{api}/auth/me", headers=new_headers).status_code == 401
    assert client.post(f"{api}/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401


def test_logout_with_refresh_token_revokes_both_tokens(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/logout", json={"refresh_token": user.refresh})
    assert res.status_code == 200
    assert res.json() == {"status": "logged_out"}
    assert client.get(f"{api}/auth/me", headers=user.headers).status_code == 401
    assert client.get(f"{api}/tasks", headers=user.headers).status_code == 401
    assert client.post(f"{api}/auth/refresh", json={"refresh_token": user.refresh}).status_code == 401
    # Logging in again works: revocation is per session, not per user.
    assert client.post(f"{api}/auth/login", json={"email": user.email, "password": user.password}).status_code == 200


def test_logout_with_bearer_only_revokes_both_tokens(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/logout", headers=user.headers)
    assert res.status_code == 200
    assert client.get(f"{api}/auth/me", headers=user.headers).status_code == 401
    assert client.post(f"{api}/auth/refresh", json={"refresh_token": user.refresh}).status_code == 401


def test_logout_with_both_tokens(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/auth/logout", headers=user.headers, json={"refresh_token": user.refresh})
    assert res.status_code == 200
    assert client.get(f"{api}/auth/me", headers=user.headers).status_code == 401


def test_logout_needs_a_live_token(client: TestClient, api: str, user: Account) -> None:
    assert client.post(f"{api}/auth/logout").status_code == 401
    assert client.post(f"{api}/auth/logout", json={}).status_code == 401
    assert client.post(f"{api}/auth/logout", json={"refresh_token": "junk"}).status_code == 401
    assert client.post(f"{api}/auth/logout", headers=user.headers).status_code == 200
    # A second logout with the same, now revoked, tokens is refused.
    assert client.post(f"{api}/auth/logout", headers=user.headers).status_code == 401
    assert client.post(f"{api}/auth/logout", json={"refresh_token": user.refresh}).status_code == 401
