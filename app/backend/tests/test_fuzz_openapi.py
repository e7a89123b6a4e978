"""Walks the app's own OpenAPI schema and throws generated bodies, ids, queries and headers at every
route: whatever comes in, the answer is never a 5xx, and every 4xx carries a JSON `detail`."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

import pytest
from conftest import sign_up
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.config import load_settings
from app.main import create_app

JsonValue = Any
_OPENAPI = create_app(load_settings()).openapi()
_COMPONENTS: dict[str, Any] = _OPENAPI.get("components", {}).get("schemas", {})
OPERATIONS = [
    (method.upper(), path, op)
    for path, item in sorted(_OPENAPI["paths"].items())
    for method, op in sorted(item.items())
    if method in {"get", "post", "put", "delete", "patch"}
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)
# Strings that have tripped PostgreSQL or the validators in other apps: NUL, surrogates, huge, unicode.
nasty_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "' OR 1=1 --", "é" * 100, "🙂" * 50, "x" * 2100, "%s%n"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=190, max_size=260),
)
# What PostgreSQL or UTF-8 encoding refuse outright; drawn often, since one of them anywhere is a 500 risk.
poison_text = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\x00" * 3])
edge_ints = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**20]),
)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[JsonValue]:
    """Values shaped like the schema, often valid, often just outside it, sometimes anything at all."""
    schema = resolve(schema)
    if depth > 4:
        return json_values
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(s, depth + 1) for s in schema[key]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return from_schema(schema["allOf"][0], depth + 1)
    if "const" in schema:
        return st.one_of(st.just(schema["const"]), json_scalars)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), json_scalars)
    kind = schema.get("type")
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 300)
        fitting = st.text(min_size=lo, max_size=min(hi, 300))
        if schema.get("format") == "email" or "examples" in schema:
            fitting = st.one_of(fitting, st.emails(), st.sampled_from([str(e) for e in schema.get("examples", [])] or ["a@b.co"]))
        # Weighted towards strings: wrong types are already covered one level up by json_values.
        return st.one_of(fitting, nasty_text, poison_text, json_scalars)
    if kind == "integer":
        return st.one_of(edge_ints, json_scalars)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False), edge_ints, json_scalars)
    if kind == "boolean":
        return st.one_of(st.booleans(), json_scalars)
    if kind == "null":
        return st.one_of(st.none(), json_scalars)
    if kind == "array":
        return st.one_of(st.lists(from_schema(schema.get("items", {}), depth + 1), max_size=3), json_values)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        shaped = st.fixed_dictionaries(
            {k: from_schema(v, depth + 1) for k, v in props.items() if k in required},
            optional={k: from_schema(v, depth + 1) for k, v in props.items() if k not in required},
        )
        with_extra = st.builds(lambda d, extra: {**extra, **d}, shaped, st.dictionaries(st.text(max_size=8), json_scalars, max_size=2))
        return st.one_of(shaped, shaped, shaped, with_extra, json_values)
    return json_values


def body_strategy(op: dict[str, Any]) -> st.SearchStrategy[tuple[str, bytes | None]]:
    """(content type, raw body): JSON from the schema, arbitrary JSON, broken JSON, or nothing."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    shaped = from_schema(content["schema"]) if content else json_values
    as_json = shaped.map(lambda v: ("application/json", json.dumps(v).encode()))
    broken = st.binary(max_size=200).map(lambda b: ("application/json", b))
    other_type = st.tuples(st.sampled_from(["text/plain", "application/x-www-form-urlencoded", ""]), st.binary(max_size=60))
    # Mostly well-formed JSON, so most examples get past parsing to the validators and the database.
    return st.one_of(as_json, as_json, as_json, as_json, as_json, broken, other_type, st.just(("application/json", None)))


def path_param_strategy(known_ids: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(
        edge_ints.map(str),
        st.sampled_from([str(i) for i in known_ids]),
        st.text(alphabet=string.printable + "é١🙂\x00", min_size=1, max_size=30).map(lambda s: quote(s, safe="")),
    )


def query_strategy(op: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
    if not names:
        return st.just({})
    values = st.one_of(st.sampled_from(["true", "false", "1", "0", "yes", ""]), st.text(max_size=20))
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


def auth_strategy(tokens: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    garbage = st.text(alphabet=string.ascii_letters + string.digits + ".-_=", max_size=80)
    value = st.one_of(
        st.sampled_from([f"Bearer {t}" for t in tokens.values()]),
        garbage.map(lambda g: f"Bearer {g}"),
        garbage.map(lambda g: f"Basic {g}"),
        st.sampled_from(["Bearer", "bearer  ", "Bearer a.b.c", "Bearer e30.e30.e30"]),
    )
    return st.one_of(st.just({}), value.map(lambda v: {"Authorization": v}))


@pytest.fixture
def fuzz_accounts(client: TestClient, api: str) -> tuple[dict[str, str], list[int]]:
    """Live, revoked and refresh tokens of two users, and ids of tasks owned by each."""
    owner, stranger, revoked = sign_up(client, api), sign_up(client, api), sign_up(client, api)
    ids = []
    for account in (owner, stranger):
        for title in ("one", "two"):
            ids.append(client.post(f"{api}/tasks", headers=account.headers, json={"title": title}).json()["id"])
    client.post(f"{api}/auth/logout", headers=revoked.headers)
    tokens = {"owner": owner.access, "stranger": stranger.access, "revoked": revoked.access, "refresh": owner.refresh}
    return tokens, ids


def send(client: TestClient, data: st.DataObject, method: str, path: str, op: dict[str, Any],
         ids: list[int], headers: dict[str, str]) -> None:
    url = path
    for param in op.get("parameters", []):
        if param.get("in") == "path":
            url = url.replace("{" + param["name"] + "}", data.draw(path_param_strategy(ids), label=param["name"]))
    params = data.draw(query_strategy(op), label="query")
    content = None
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        content_type, content = data.draw(body_strategy(op), label="body")
        if content is not None and content_type:
            headers = {**headers, "Content-Type": content_type}
    res = client.request(method, url, params=params, content=content, headers=headers)
    assert res.status_code < 500, f"{method} {url} -> {res.status_code}: {res.text[:300]}"
    if res.status_code >= 400:
        assert "detail" in res.json(), res.text[:300]


_IDS = [f"{m} {p}" for m, p, _ in OPERATIONS]


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=_IDS)
def test_signed_in_input_never_5xx(
    client: TestClient, api: str, fuzz_accounts: tuple[dict[str, str], list[int]], method: str, path: str,
    op: dict[str, Any],
) -> None:
    """Generated bodies, path ids and queries, sent with a live token so they reach validation and SQL."""
    tokens, ids = fuzz_accounts
    owner = {"Authorization": f"Bearer {tokens['owner']}"}

    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        headers = owner
        if path.endswith("/auth/logout"):
            # Each logout ends the session it names, so every example gets a session of its own.
            headers = sign_up(client, api).headers
        send(client, data, method, path, op, ids, headers)

    run()


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=_IDS)
def test_any_authorization_header_never_5xx(
    client: TestClient, fuzz_accounts: tuple[dict[str, str], list[int]], method: str, path: str, op: dict[str, Any]
) -> None:
    """Missing, junk, revoked, wrong-type and other users' tokens, with generated input besides."""
    tokens, ids = fuzz_accounts

    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        send(client, data, method, path, op, ids, data.draw(auth_strategy(tokens), label="auth"))

    run()
