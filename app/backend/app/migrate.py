"""`python -m app.migrate`: creates any missing tables, waiting (bounded) for the database first.
Exit status 0 when the schema is in place, 1 when the database never answered. Run by a Helm Job;
the app does the same at start, so running it is optional but makes the first rollout faster."""

from __future__ import annotations

import logging
import sys

from .config import load_settings
from .db import create_schema, describe_url, make_engine, retry_with_backoff
from .main import configure_logging

log = logging.getLogger("taskflow.migrate")


def main() -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings)
    try:
        ok = retry_with_backoff(
            lambda: create_schema(engine),
            what=f"migrating {describe_url(engine)}",
            deadline_seconds=settings.migrate_timeout_seconds,
        )
    finally:
        engine.dispose()
    if ok:
        log.info("schema up to date")
        return 0
    log.error("database unreachable for %ds; schema not created", settings.migrate_timeout_seconds)
    return 1


if __name__ == "__main__":
    sys.exit(main())
