"""The backend as the MCP server's client: lists its task tools for the model and calls them for one user.

The user is named out of band, by an identity token the backend signs on every HTTP request of the
connection (see app/mcp/README.md, "Identity"). No tool takes a user argument, so nothing the model
writes can choose or forge whose tasks a call touches.

One connection pool serves every turn of the process (`make_mcp_pool`): building one loads the CA bundle
into a new SSL context, tens of milliseconds of CPU on the event loop. Each turn still opens its own MCP
connection through a client of its own over that pool, carrying its user's identity and no cookies from
anyone else's turn. The MCP session stays per turn too: the SDK's client puts the same HTTP client under
every request of a session and takes no per-call headers, so one shared session could only learn whose
turn it serves from ambient state."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import jwt
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Tool

log = logging.getLogger("taskflow.mcp")

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


def make_mcp_pool() -> httpx2.AsyncHTTPTransport:
    """The process's connections to the MCP server; closed with `aclose()` at shutdown."""
    return httpx2.AsyncHTTPTransport()


class ToolsUnavailable(Exception):
    """The MCP server could not be reached, did not speak MCP, or stopped answering.

    `during` names the tool call that was waiting for its answer then, if any: that call may or may not
    have been carried out. Calls that had answered before are not affected."""

    def __init__(self, message: str, *, during: str | None = None) -> None:
        super().__init__(message)
        self.during = during


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
    # The call waiting for the server's answer. A transport failure cancels the waiting turn instead of
    # raising in it (the SDK runs each POST in its own task), so this is how the close knows what was cut off.
    in_flight: str | None = field(init=False, default=None)

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
        self.in_flight = name
        try:
            result = await self.client.call_tool(name, arguments)
        except MCPError as exc:
            # A protocol-level refusal (e.g. a tool the server does not know): nothing ran.
            self.in_flight = None
            return ToolOutcome(False, f"Error: {exc.error.message}")
        except (httpx2.HTTPError, OSError) as exc:
            raise ToolsUnavailable(f"the task server did not answer ({type(exc).__name__})", during=name) from exc
        self.in_flight = None
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


def _describe(exc: BaseException) -> str:
    leaf = _leaf(exc)
    return f"{type(leaf).__name__}: {leaf}"


def _cancelled_from_outside() -> bool:
    """Whether someone other than the SDK still wants this task cancelled (asyncio counts the requests)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _list_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    while True:
        try:
            page = await client.list_tools(cursor=cursor)
        except Exception as exc:
            raise ToolsUnavailable(f"cannot list the task tools ({_describe(exc)})"[:300]) from exc
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools


@asynccontextmanager
async def connect_tools(mcp_url: str, pool: httpx2.AsyncBaseTransport, secret: str, user_id: int) -> AsyncIterator[TaskTools]:
    """An MCP connection acting for `user_id` over the process's `pool`, with its tools listed.

    Raises ToolsUnavailable when the server cannot be reached, and when it stops answering while the
    connection is open: the SDK then cancels the caller and reports the failure on closing, and that is
    reported here as ToolsUnavailable too, naming the call it cut off."""
    # This turn's own client over the shared pool: the user's identity and any cookies stay with it. It is
    # never closed: it holds nothing of its own, and closing it would close the pool under every other turn.
    http = httpx2.AsyncClient(transport=pool, auth=_IdentityAuth(secret, user_id), timeout=MCP_REQUEST_TIMEOUT_SECONDS)
    client = Client(streamable_http_client(mcp_url, http_client=http), cache=None)
    try:
        await client.__aenter__()
    except Exception as exc:  # the SDK raises transport failures from its task group, often grouped
        raise ToolsUnavailable(f"cannot connect to the task server ({_describe(exc)})"[:300]) from exc
    tools = TaskTools(client, [])
    failed: BaseException | None = None
    try:
        tools = TaskTools(client, await _list_tools(client))
        yield tools
    except BaseException as exc:
        failed = exc
        raise
    finally:
        try:
            await client.__aexit__(None, None, None)
        except Exception as exc:
            # A cancellation here is the SDK's own, standing for this failure, unless the turn itself is being
            # cancelled (the caller goes on cancelling it); any other failure of the turn already says what went
            # wrong and stays the one reported. A turn that ended well had every call answered: its answer
            # stands, and the failed close (the session's DELETE, say, to a pod that has just restarted) is
            # only logged.
            if isinstance(failed, anyio.get_cancelled_exc_class()) and not _cancelled_from_outside():
                raise ToolsUnavailable(
                    f"the task server stopped answering ({_describe(exc)})"[:300], during=tools.in_flight
                ) from exc
            after = "a completed turn" if failed is None else type(failed).__name__
            log.warning("mcp: closing the connection failed after %s (%s)", after, _describe(exc))
