"""The assistant's network clients, one of each per process: the model client and the MCP connection pool,
with the MCP server's tool catalog.

Not made per turn: each builds an SSL context from the whole CA bundle, tens of milliseconds of CPU on
the event loop, even for http:// URLs. Nothing in them belongs to a user or a turn: the turn's time bound
goes with each model request, the user's identity with each MCP connection (see mcp_client.py)."""

from __future__ import annotations

import httpx2
from openai import AsyncOpenAI

from .agent import make_llm
from .config import Settings
from .mcp_client import ToolCatalog, make_mcp_pool


class AssistantClients:
    """Made on first use (or by `open` at startup) from the app's settings; `aclose` at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._llm: AsyncOpenAI | None = None
        self._mcp_pool: httpx2.AsyncHTTPTransport | None = None
        # The MCP server's tools, the same for every user: listed by the first turn, kept for the next ones.
        self.tool_catalog = ToolCatalog()

    @property
    def llm(self) -> AsyncOpenAI:
        if self._llm is None:
            self._llm = make_llm(self._settings)
        return self._llm

    @property
    def mcp_pool(self) -> httpx2.AsyncHTTPTransport:
        if self._mcp_pool is None:
            self._mcp_pool = make_mcp_pool()
        return self._mcp_pool

    def open(self) -> None:
        """Makes both now, so the first chat turn does not pay for them."""
        _ = self.llm, self.mcp_pool

    async def aclose(self) -> None:
        llm, pool = self._llm, self._mcp_pool
        self._llm = self._mcp_pool = None
        if llm is not None:
            await llm.close()
        if pool is not None:
            await pool.aclose()
