"""Bad input of every kind gets a clear 4xx JSON error, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Account, unique_email
from fastapi.testclient import TestClient

JSON = {"Content-Type": "application/json"}


def assert_client_error(res, status: int | tuple[int, ...] = 422) -> None:  # type: ignore[no-untyped-def]
    expected = status if isinstance(status, tuple) else (status,)
    assert res.status_code in expected, (res.status_code, res.text[:500])
    assert "detail" in res.json()


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"email": ', b"not json", b"\xff\xfe\x00", b"[]", b'"a string"', b"null", b"123", b"[" * 50000],
)
def test_malformed_or_wrong_json_on_signup(client: TestClient, api: str, raw: bytes) -> None:
    assert_client_error(client.post(f"{api}/auth/signup", content=raw, headers=JSON), (400, 422))


def test_malformed_json_on_authenticated_routes(client: TestClient, api: str, user: Account) -> None:
    headers = {**JSON, **user.headers}
    for method, path in (("POST", "/tasks"), ("PUT", "/tasks/1"), ("POST", "/chat"), ("POST", "/auth/logout")):
        assert_client_error(client.request(method, f"{api}{path}", content=b"{oops", headers=headers))


def test_non_json_content_type(client: TestClient, api: str) -> None:
    res = client.post(f"{api}/auth/login", content=b"email=a@b.co&password=x", headers={"Content-Type": "text/plain"})
    assert_client_error(res)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com"},
        {"password": "long-enough-1"},
        {"email": "not-an-email", "password": "long-enough-1"},
        {"email": "two@@example.com", "password": "long-enough-1"},
        {"email": "spaces in@example.com", "password": "long-enough-1"},
        {"email": "x" * 250 + "@example.com", "password": "long-enough-1"},
        {"email": 12345, "password": "long-enough-1"},
        {"email": None, "password": "long-enough-1"},
        {"email": "ok@example.com", "password": "short"},
        {"email": "ok@example.com", "password": "p" * 129},
        {"email": "ok@example.com", "password": ["list"]},
        {"email": "ok@example.com", "password": "long-enough-1", "name": "n" * 101},
        {"email": "nul\x00@example.com", "password": "long-enough-1"},
        {"email": "ok@example.com", "password": "long\x00enough-1"},
        {"email": "ok@example.com", "password": "long-enough-1", "name": "Ada\x00"},
    ],
)
def test_signup_validation(client: TestClient, api: str, body: dict) -> None:
    assert_client_error(client.post(f"{api}/auth/signup", json=body))


def test_validation_errors_do_not_echo_the_input(client: TestClient, api: str) -> None:
    res = client.post(f"{api}/auth/signup", json={"email": unique_email(), "password": "secret7"})
    assert res.status_code == 422
    assert "secret7" not in res.text
    detail = res.json()["detail"]
    assert detail[0]["loc"] == ["body", "password"] and detail[0]["msg"]


def test_lone_surrogate_is_422(client: TestClient, api: str, user: Account) -> None:
    # Valid JSON, but not encodable as UTF-8 for PostgreSQL.
    raw = b'{"title": "bad \\ud800 text"}'
    assert_client_error(client.post(f"{api}/tasks", content=raw, headers={**JSON, **user.headers}))


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "t" * 201},
        {"title": "ok", "description": "d" * 2001},
        {"title": "nul\x00title"},
        {"title": "ok", "description": "nul\x00"},
        {"title": 5},
        {"title": ["a"]},
        {"description": "no title"},
    ],
)
def test_task_validation(client: TestClient, api: str, user: Account, body: dict) -> None:
    assert_client_error(client.post(f"{api}/tasks", json=body, headers=user.headers))


def test_length_limits_are_inclusive(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/tasks", json={"title": "t" * 200, "description": "d" * 2000}, headers=user.headers)
    assert res.status_code == 201
    assert client.post(f"{api}/chat", json={"message": "m" * 2000}, headers=user.headers).status_code == 200


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "   "}, {"message": "m" * 2001},
                                  {"message": "hi\x00"}, {"message": None}, {"msg": "list my tasks"}])
def test_chat_validation(client: TestClient, api: str, user: Account, body: dict) -> None:
    assert_client_error(client.post(f"{api}/chat", json=body, headers=user.headers))


def test_ten_megabyte_title_is_413(client: TestClient, api: str, user: Account) -> None:
    res = client.post(f"{api}/tasks", json={"title": "x" * (10 * 1024 * 1024)}, headers=user.headers)
    assert_client_error(res, 413)


def test_huge_chunked_body_is_413(client: TestClient, api: str, user: Account) -> None:
    # No Content-Length: the limit is enforced while reading.
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(200):
            yield b"x" * 8192
        yield b'"}'

    res = client.post(f"{api}/tasks", content=chunks(), headers={**JSON, **user.headers})
    assert_client_error(res, 413)


def test_invalid_content_length_is_400(client: TestClient, api: str) -> None:
    res = client.post(f"{api}/auth/login", content=b"{}", headers={**JSON, "Content-Length": "-5"})
    assert res.status_code in (400, 422)


@pytest.mark.parametrize(
    "task_id", ["abc", "1.5", "0", "-1", "99999999999999999999", "2147483648", "1e3", "%00", "١"]
)
def test_bad_task_ids(client: TestClient, api: str, user: Account, task_id: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        res = client.request(method, f"{api}/tasks/{task_id}", json={"title": "x"}, headers=user.headers)
        assert_client_error(res, (404, 422))


def test_largest_int32_id_is_a_plain_404(client: TestClient, api: str, user: Account) -> None:
    assert_client_error(client.get(f"{api}/tasks/2147483647", headers=user.headers), 404)


def test_bad_query_parameter(client: TestClient, api: str, user: Account) -> None:
    assert_client_error(client.get(f"{api}/tasks", params={"completed": "sometimes"}, headers=user.headers))


@pytest.mark.parametrize("token", ["a.b.c", "e30.e30.e30", "Bearer", "\u00e9t\u00e9", "x" * 3000])
def test_junk_tokens_everywhere_are_401(client: TestClient, api: str, token: str) -> None:
    # Raw bytes: a non-ASCII header value is what a misbehaving client would send.
    headers = {"Authorization": f"Bearer {token}".encode()}
    assert_client_error(client.get(f"{api}/tasks", headers=headers), 401)
    assert_client_error(client.post(f"{api}/auth/refresh", json={"refresh_token": token}), (401, 422))


def test_unknown_route_and_method(client: TestClient, api: str) -> None:
    assert client.get(f"{api}/nope").status_code == 404
    assert client.patch(f"{api}/tasks").status_code == 405
