"""`python -m taskflow_mcp`: serves the app with uvicorn on HOST:PORT (0.0.0.0:8001 by default).

Exit status 2 when a setting is missing or wrong; the message says which."""

from __future__ import annotations

import sys

import uvicorn

from .config import load_settings
from .main import create_app


def main() -> int:
    try:
        settings = load_settings()
        app = create_app(settings)
    except ValueError as exc:
        print(f"taskflow-mcp: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # SIGTERM: finish open requests (bounded), then the lifespan closes the connection pool.
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
