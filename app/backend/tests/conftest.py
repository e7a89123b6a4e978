"""Shared fixtures: a real PostgreSQL (DATABASE_URL) behind an in-process app, and signed-up users."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

if not os.environ.get("DATABASE_URL"):
    pytest.exit(
        "DATABASE_URL is not set: these tests need a real PostgreSQL, e.g. "
        "postgresql://user:pass@127.0.0.1:5432/db (npm test starts a throwaway one)",
        returncode=2,
    )
# Tokens are signed with this unless the caller brought a secret; low bcrypt cost keeps sign-ups fast.
os.environ.setdefault("BETTER_AUTH_SECRET", "test-secret-" + "x" * 40)
os.environ.setdefault("BCRYPT_ROUNDS", "4")

from app.config import Settings, load_settings  # noqa: E402
from app.main import create_app  # noqa: E402

# Bounded and reproducible in CI; elsewhere each run explores new inputs. No example database on disk.
settings.register_profile(
    "ci", max_examples=50, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev", max_examples=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


def wait_healthy(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        res = client.get("/health")
        if res.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"app never became healthy: {res.status_code} {res.text}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def app_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def app(app_settings: Settings) -> FastAPI:
    return create_app(app_settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        wait_healthy(c)
        yield c


@pytest.fixture(scope="session")
def api(app_settings: Settings) -> str:
    return app_settings.api_prefix


@dataclass
class Account:
    email: str
    password: str
    name: str
    id: int
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(client: TestClient, api: str, **overrides: Any) -> Account:
    body = {"email": unique_email(), "password": "correct horse battery", "name": "Test User", **overrides}
    res = client.post(f"{api}/auth/signup", json=body)
    assert res.status_code == 201, res.text
    data = res.json()
    return Account(
        email=data["user"]["email"], password=body["password"], name=data["user"]["name"], id=data["user"]["id"],
        access=data["access_token"], refresh=data["refresh_token"],
    )


@pytest.fixture
def user(client: TestClient, api: str) -> Account:
    return sign_up(client, api)


@pytest.fixture
def other_user(client: TestClient, api: str) -> Account:
    return sign_up(client, api, name="Someone Else")
