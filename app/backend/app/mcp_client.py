"""The backend as the MCP server's client: lists its task tools for the model and calls them for one user.

The user is named out of band, by an identity token the backend signs on every HTTP request of the
connection (see app/mcp/README.md, "Identity"). No tool takes a user argument, so nothing the model
writes can choose or forge whose tasks a call touches."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jwt
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Tool

IDENTITY_ISSUER = "taskflow-backend"
IDENTITY_AUDIENCE = "taskflow-mcp"
# Minted afresh for each HTTP request, so it only has to outlive one request; the server allows 300 s.
IDENTITY_TTL_SECONDS = 60
# One tool call is one short SQL statement; a server that takes longer than this is not coming back.
MCP_REQUEST_TIMEOUT_SECONDS = 30.0


def mint_identity_token(secret: str, user_id: int, ttl_seconds: int = IDENTITY_TTL_SECONDS) -> str:
    now = int(time.time())
    claims = {"iss": IDENTITY_ISSUER, "aud": IDENTITY_AUDIENCE, "sub": str(user_id), "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")


class _IdentityAuth(httpx2.Auth):
    """Puts a fresh identity token for this user on every request the MCP transport makes."""

    def __init__(self, secret: str, user_id: int) -> None:
        self._secret = secret
        self._user_id = user_id

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {mint_identity_token(self._secret, self._user_id)}"
        yield request


class ToolsUnavailable(Exception):
    """The MCP server could not be reached or did not speak MCP; no tool ran."""


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    # What the model is shown: the tool's JSON on success, its error text otherwise.
    text: str
    # The tool's structured result on success.
    data: Any = None


@dataclass
class TaskTools:
    """The tools one MCP connection offers, in the form the chat-completions API takes them."""

    client: Client
    tools: list[Tool]
    _by_name: dict[str, Tool] = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.tools}

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def specs(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description or t.title or t.name, "parameters": t.input_schema},
            }
            for t in self.tools
        ]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def changes_tasks(self, name: str) -> bool:
        """False only for tools the server marks read-only (list_tasks); unknown means 'may change'."""
        tool = self._by_name.get(name)
        return not (tool and tool.annotations and tool.annotations.read_only_hint)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        try:
            result = await self.client.call_tool(name, arguments)
        except MCPError as exc:
            # A protocol-level refusal (e.g. a tool the server does not know): nothing ran.
            return ToolOutcome(False, f"Error: {exc.error.message}")
        except (httpx2.HTTPError, OSError) as exc:
            raise ToolsUnavailable(f"the task server did not answer ({type(exc).__name__})") from exc
        return _outcome(result)


def _outcome(result: CallToolResult) -> ToolOutcome:
    text = "\n".join(getattr(block, "text", "") for block in result.content).strip()
    if result.is_error:
        return ToolOutcome(False, text or "Error: the tool failed without saying why")
    data = result.structured_content
    return ToolOutcome(True, text or json.dumps(data, default=str), data)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@asynccontextmanager
async def connect_tools(mcp_url: str, secret: str, user_id: int) -> AsyncIterator[TaskTools]:
    """An MCP connection acting for `user_id`, with its tools listed; ToolsUnavailable if that fails."""
    async with httpx2.AsyncClient(auth=_IdentityAuth(secret, user_id), timeout=MCP_REQUEST_TIMEOUT_SECONDS) as http:
        try:
            client = Client(streamable_http_client(mcp_url, http_client=http), cache=None)
            await client.__aenter__()
        except Exception as exc:  # the SDK raises transport failures from its task group, often grouped
            leaf = _leaf(exc)
            raise ToolsUnavailable(f"cannot connect to the task server ({type(leaf).__name__}: {leaf})"[:300]) from exc
        try:
            try:
                tools: list[Tool] = []
                cursor: str | None = None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
            except Exception as exc:
                leaf = _leaf(exc)
                raise ToolsUnavailable(f"cannot list the task tools ({type(leaf).__name__}: {leaf})"[:300]) from exc
            yield TaskTools(client, tools)
        finally:
            await client.__aexit__(None, None, None)
