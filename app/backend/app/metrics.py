"""Prometheus metrics of the backend, served on a port of their own (METRICS_PORT), never through the API.

What a chat turn costs and how it ends, what the model and the tools do, and how busy the database pools
are. Each app has its own registry (tests build many apps in one process); the port is opened at start-up
and closed at shutdown. Label values come from small fixed sets (outcome codes, the MCP server's tool names),
never from what a user or a model wrote."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("taskflow.metrics")

# Seconds. A turn spans model rounds and tool calls, up to CHAT_TIMEOUT_SECONDS (60) and a little more.
TURN_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90)
# One model request: its whole streamed answer.
MODEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)


class _PoolCollector(Collector):
    """Connections checked out of each database pool at the moment of the scrape."""

    def __init__(self, pools: Callable[[], dict[str, int]]) -> None:
        self._pools = pools

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "taskflow_db_pool_connections_in_use",
            "Database connections in use, by pool: requests (token checks, tasks), task_list (GET /tasks reads), "
            "app (sign-in, the assistant, health)",
            labels=["pool"],
        )
        try:
            counts = self._pools()
        except Exception:  # a scrape during start-up or shutdown: report nothing rather than fail the scrape
            counts = {}
        for pool, in_use in counts.items():
            family.add_metric([pool], in_use)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._turns = Counter(
            "taskflow_chat_turns",
            "Chat messages answered by a model, by outcome: ok, an error code (timeout, rate_limited, ...), or a "
            "fair-use refusal (turn_in_progress, too_many_turns)",
            ["code"],
            registry=self.registry,
        )
        self._turn_seconds = Histogram(
            "taskflow_chat_turn_duration_seconds",
            "Wall-clock time of a model turn, from its start to its end stored, by outcome (ok or error)",
            ["outcome"],
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self._model_seconds = Histogram(
            "taskflow_model_request_duration_seconds",
            "One request to the model provider, from sending it to the end of its streamed answer, by outcome (ok or error)",
            ["outcome"],
            buckets=MODEL_BUCKETS,
            registry=self.registry,
        )
        self._tool_calls = Counter(
            "taskflow_tool_calls",
            "Tool calls the model asked for, by tool (unknown: a name the MCP server does not offer) and outcome: ok, "
            "error (the tool refused), refused (not sent: unknown tool or malformed arguments), unavailable (no answer)",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self._mcp_errors = Counter(
            "taskflow_mcp_errors",
            "Failures talking to the MCP server, by kind: connect, list (learning the tools), call (a call cut off), "
            "close (closing a connection after a completed turn)",
            ["kind"],
            registry=self.registry,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def watch_pools(self, pools: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_PoolCollector(pools))

    def turn(self, code: str, seconds: float | None = None) -> None:
        self._turns.labels(code).inc()
        if seconds is not None:
            self._turn_seconds.labels("ok" if code == "ok" else "error").observe(seconds)

    def model_request(self, ok: bool, seconds: float) -> None:
        self._model_seconds.labels("ok" if ok else "error").observe(seconds)

    def tool_call(self, tool: str, outcome: str) -> None:
        self._tool_calls.labels(tool, outcome).inc()

    def mcp_error(self, kind: str) -> None:
        self._mcp_errors.labels(kind).inc()

    def serve(self, port: int) -> None:
        """Serves GET /metrics on `port` (all interfaces) from a thread of its own, so a busy event loop still answers."""
        self._server, self._thread = start_http_server(port, registry=self.registry)
        log.info("metrics on port %d at /metrics", port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
