"""The ASGI application: MCP's streamable HTTP transport at /mcp, health probes at /health and /health/live.

`python -m taskflow_mcp` serves it (see __main__.py); `uvicorn taskflow_mcp.main:app` works too, and
`create_app` builds one for tests."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from .config import Settings, check_secret, load_settings
from .identity import TOKEN_ISSUER, IdentityTokenVerifier
from .store import TaskStore, db_error_summary, describe_url, make_engine
from .tools import build_tools

log = logging.getLogger("taskflow_mcp")

MCP_PATH = "/mcp"
# Tool arguments are a title and a description at most; nothing legitimate comes near this.
MAX_REQUEST_BODY_BYTES = 64 * 1024
INSTRUCTIONS = (
    "Tools for one TaskFlow user's todo list. Every call acts on the signed-in user's own tasks; "
    "task ids come from list_tasks or add_task."
)


def configure_logging(level: str) -> None:
    logger = logging.getLogger("taskflow_mcp")
    logger.setLevel(getattr(logging, level, logging.INFO))
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    check_secret(settings.shared_secret)
    configure_logging(settings.log_level)
    engine = make_engine(settings)
    store = TaskStore(engine)

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        # The database is not touched here: the server starts without it and /health says 503 meanwhile.
        log.info("serving MCP at %s on port %d, database %s", MCP_PATH, settings.port, describe_url(engine))
        try:
            yield {}
        finally:
            engine.dispose()
            log.info("stopped")

    server: MCPServer[Any] = MCPServer(
        "taskflow",
        title="TaskFlow tasks",
        instructions=INSTRUCTIONS,
        version="1.0.0",
        tools=build_tools(store),
        # The SDK's bearer middleware guards /mcp with this verifier and hands the verified token to the
        # tools. issuer_url is a required field but unused: with no authorization-server provider and no
        # resource_server_url, no OAuth or metadata routes are mounted.
        token_verifier=IdentityTokenVerifier(settings.shared_secret),
        auth=AuthSettings(issuer_url=f"http://{TOKEN_ISSUER}", resource_server_url=None),
        lifespan=lifespan,
        log_level=settings.log_level,  # type: ignore[arg-type]  # checked against LOG_LEVELS by load_settings
    )

    # Probes need no token: the SDK's custom routes sit outside the bearer middleware.
    @server.custom_route("/health/live", methods=["GET"], include_in_schema=False)
    async def live(_: Request) -> JSONResponse:
        """Liveness: 200 while the process serves requests, whatever the database does."""
        return JSONResponse({"status": "ok"})

    @server.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> JSONResponse:
        """Readiness: 200 only when the database answers and the backend has created the tasks table."""
        try:
            state = await anyio.to_thread.run_sync(store.schema_state)
        except SQLAlchemyError as exc:
            log.warning("health check: database unreachable (%s)", db_error_summary(exc))
            return JSONResponse({"status": "error", "database": "unavailable"}, status_code=503)
        if state != "ok":
            return JSONResponse({"status": "error", "database": "no tasks table yet"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        # Each POST stands alone (no server-side session), so any replica can answer any request and
        # a restart loses nothing. The tools never call back into the client, so nothing needs a session.
        stateless_http=True,
        # One JSON body per answer instead of an SSE stream: simpler for proxies and probes alike.
        json_response=True,
        # DNS-rebinding protection checks the Host header against a fixed list, which would refuse the
        # Service name Kubernetes callers use. It guards browsers on localhost; every request here needs
        # a bearer token a browser does not have.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
    )


def __getattr__(name: str) -> Starlette:
    # `app` is built on first access, so importing this module (tests, tools) needs no environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
