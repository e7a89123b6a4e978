"""The backend as the MCP server's client: lists its task tools for the model and calls them for one user.

The user is named out of band, by an identity token the backend signs on every HTTP request of the
connection (see app/mcp/README.md, "Identity"). No tool takes a user argument, so nothing the model
writes can choose or forge whose tasks a call touches.

One connection pool serves every turn of the process (`make_mcp_pool`): building one loads the CA bundle
into a new SSL context, tens of milliseconds of CPU on the event loop. Each turn still opens its own MCP
connection through a client of its own over that pool, carrying its user's identity and no cookies from
anyone else's turn. The MCP session stays per turn too: the SDK's client puts the same HTTP client under
every request of a session and takes no per-call headers, so one shared session could only learn whose
turn it serves from ambient state.

What is the same for every user is learnt once per process (`ToolCatalog`): the protocol version the
server speaks and its tool list. A turn's connection then adopts that version instead of probing for it
and is told the tools instead of listing them, so it costs no request of its own, and it is opened only
when the model first calls a tool: a turn that only talks makes no MCP request at all, and one that
calls tools makes one per call. The catalog is learnt again after the server says its tools changed or
answers a call with "Unknown tool"."""

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
import anyio.lowlevel
import httpx2
import jwt
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, DiscoverResult, ListToolsResult, Tool, ToolListChangedNotification
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .metrics import Metrics

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

    `during` names the tool call that was waiting for its answer then, if any. `sent` says whether that
    call left at all: a connection refused (or never made) means it did not run; a connection lost after
    it was sent means it may or may not have run. Calls that had answered before are not affected."""

    def __init__(self, message: str, *, during: str | None = None, sent: bool = True) -> None:
        super().__init__(message)
        self.during = during
        self.sent = sent


# Failures before a single byte of the request went out: the server never saw the call.
_NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    # What the model is shown: the tool's JSON on success, its error text otherwise.
    text: str
    # The tool's structured result on success.
    data: Any = None


@dataclass(frozen=True)
class _Known:
    """What the server told us once: its protocol (None: a handshake-era server) and its full tool listing.

    `validators` are the output-schema validators the SDK compiles for the listed tools, shared by every
    turn's session: compiling one checks the schema against its metaschema first, about as much CPU as
    the rest of a tool call on the backend's side, and the schemas are the listing's, the same for all."""

    discover: DiscoverResult | None
    listing: ListToolsResult
    validators: dict[str, Any] = field(default_factory=dict)


class ToolCatalog:
    """The MCP server's protocol version and tools, learnt by the first turn that needs them and kept for the process."""

    def __init__(self) -> None:
        self._known: _Known | None = None
        self._learning: asyncio.Lock | None = None

    @property
    def known(self) -> _Known | None:
        return self._known

    def forget(self, why: str) -> None:
        if self._known is not None:
            log.info("mcp: tool list to be fetched again (%s)", why)
        self._known = None

    def learn(self, discover: DiscoverResult | None, listing: ListToolsResult) -> None:
        self._known = _Known(discover, listing)

    @property
    def lock(self) -> asyncio.Lock:
        # Turns starting together on a cold catalog list the tools once, not once each.
        if self._learning is None:
            self._learning = asyncio.Lock()
        return self._learning


class TaskTools:
    """The task tools for one turn of one user: the catalog's tools as the model takes them, and the calls.

    The MCP connection is opened on the first call (or to learn the tools), carrying this user's identity."""

    def __init__(
        self, catalog: ToolCatalog, mcp_url: str, pool: httpx2.AsyncBaseTransport, secret: str, user_id: int,
        metrics: Metrics | None = None,
    ) -> None:
        self._catalog = catalog
        self.metrics = metrics
        self._mcp_url = mcp_url
        self._pool = pool
        self._secret = secret
        self._user_id = user_id
        self.client: Client | None = None
        self.tools: list[Tool] = []
        self._by_name: dict[str, Tool] = {}
        self._known: _Known | None = None
        # The call waiting for the server's answer. A transport failure cancels the waiting turn instead of
        # raising in it (the SDK runs each POST in its own task), so this is how the close knows what was cut off.
        self.in_flight: str | None = None

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

    async def load(self) -> None:
        """Takes the tools from the catalog, learning them first (one connection, discover + list) when it has none."""
        known = self._catalog.known
        if known is None:
            async with self._catalog.lock:
                known = self._catalog.known
                if known is None:
                    client = await self._open(None)
                    try:
                        listing = await _list_tools(client)
                    except ToolsUnavailable:
                        self.failed("list")
                        raise
                    discover = client.session.discover_result
                    self._catalog.learn(discover, listing)
                    known = self._catalog.known
        assert known is not None
        # The turn keeps what it was given even if the catalog is forgotten meanwhile.
        self._known = known
        self.tools = list(known.listing.tools)
        self._by_name = {t.name: t for t in self.tools}

    async def _open(self, known: _Known | None) -> Client:
        """This turn's MCP connection: with what the catalog knows it sends nothing until the first call."""
        if self.client is not None:
            return self.client
        # This turn's own client over the shared pool: the user's identity and any cookies stay with it. It is
        # never closed: it holds nothing of its own, and closing it would close the pool under every other turn.
        http = httpx2.AsyncClient(
            transport=self._pool, auth=_IdentityAuth(self._secret, self._user_id), timeout=MCP_REQUEST_TIMEOUT_SECONDS
        )
        transport = streamable_http_client(self._mcp_url, http_client=http)
        if known is None:
            client = Client(transport, cache=None, message_handler=self._on_message)
        elif known.discover is not None:
            # The version the server chose before, adopted without asking again.
            client = Client(
                transport, cache=None, message_handler=self._on_message,
                mode=_adopted_version(known.discover),
                prior_discover=known.discover,
            )
        else:
            # A handshake-era server: every connection begins with initialize, which cannot be skipped.
            client = Client(transport, cache=None, message_handler=self._on_message, mode="legacy")
        try:
            await client.__aenter__()
        except Exception as exc:  # the SDK raises transport failures from its task group, often grouped
            self.failed("connect")
            raise ToolsUnavailable(
                f"cannot connect to the task server ({_describe(exc)})"[:300], sent=not isinstance(_leaf(exc), _NEVER_SENT)
            ) from exc
        if known is not None:
            # Told, not listed: the session checks each result against its tool's output schema, and lists the
            # tools itself first when it has never seen them. The SDK keeps no listing across sessions to share,
            # so this reaches into the session (mcp 2.3.0; the tool-turn tests fail if these ever change).
            session = client.session
            session._absorb_tool_listing(known.listing.model_copy(), complete=True)  # noqa: SLF001
            # After the absorb, which replaces the dict: the session compiles into the shared one from here on.
            session._tool_output_validators = known.validators  # noqa: SLF001
        self.client = client
        return client

    def failed(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.mcp_error(kind)

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            self._catalog.forget("the server said its tools changed")
        await anyio.lowlevel.checkpoint()

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        client = await self._open(self._known)
        self.in_flight = name
        try:
            result = await client.call_tool(name, arguments)
        except MCPError as exc:
            # A protocol-level refusal (e.g. a tool the server does not know): nothing ran.
            self.in_flight = None
            if "unknown tool" in exc.error.message.lower():
                self._catalog.forget(f"the server does not know {name}")
            return ToolOutcome(False, f"Error: {exc.error.message}")
        except (httpx2.HTTPError, OSError) as exc:
            self.failed("call")
            raise ToolsUnavailable(
                f"the task server did not answer ({type(exc).__name__})", during=name, sent=not isinstance(exc, _NEVER_SENT)
            ) from exc
        self.in_flight = None
        outcome = _outcome(result)
        if not outcome.ok and outcome.text.startswith("Unknown tool:"):
            # The server dropped a tool the catalog still lists (an upgrade): learn the list again next turn.
            self._catalog.forget(f"the server does not know {name}")
        return outcome


def _adopted_version(discover: DiscoverResult) -> str:
    """The newest version both sides speak, as the SDK chose it when it adopted this result."""
    return [v for v in MODERN_PROTOCOL_VERSIONS if v in discover.supported_versions][-1]


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


async def _list_tools(client: Client) -> ListToolsResult:
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
            return ListToolsResult(tools=tools)


@asynccontextmanager
async def connect_tools(
    catalog: ToolCatalog, mcp_url: str, pool: httpx2.AsyncBaseTransport, secret: str, user_id: int,
    metrics: Metrics | None = None,
) -> AsyncIterator[TaskTools]:
    """The task tools acting for `user_id` over the process's `pool`, known before the model is asked.

    Raises ToolsUnavailable when the server cannot be reached, and when it stops answering while the
    connection is open: the SDK then cancels the caller and reports the failure on closing, and that is
    reported here as ToolsUnavailable too, naming the call it cut off."""
    tools = TaskTools(catalog, mcp_url, pool, secret, user_id, metrics)
    failed: BaseException | None = None
    try:
        await tools.load()
        yield tools
    except BaseException as exc:
        failed = exc
        raise
    finally:
        if tools.client is not None:
            await _close(tools, failed)


async def _close(tools: TaskTools, failed: BaseException | None) -> None:
    assert tools.client is not None
    try:
        await tools.client.__aexit__(None, None, None)
    except Exception as exc:
        # A cancellation here is the SDK's own, standing for this failure, unless the turn itself is being
        # cancelled (the caller goes on cancelling it); any other failure of the turn already says what went
        # wrong and stays the one reported. A turn that ended well had every call answered: its answer
        # stands, and the failed close (the session's DELETE, say, to a pod that has just restarted) is
        # only logged.
        if isinstance(failed, anyio.get_cancelled_exc_class()) and not _cancelled_from_outside():
            tools.failed("call" if tools.in_flight else "connect")
            sent = not isinstance(_leaf(exc), _NEVER_SENT)
            what = "stopped answering" if sent else "could not be reached"
            raise ToolsUnavailable(
                f"the task server {what} ({_describe(exc)})"[:300], during=tools.in_flight, sent=sent
            ) from exc
        after = "a completed turn" if failed is None else type(failed).__name__
        tools.failed("close")
        log.warning("mcp: closing the connection failed after %s (%s)", after, _describe(exc))
