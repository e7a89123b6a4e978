"""Health endpoints at the root (outside API_PREFIX) for probes and load balancers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..db import db_error_summary, ping
from ..schemas import HealthOut, StatusOut

log = logging.getLogger("taskflow.health")
router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Database unreachable or schema not created yet"}},
    description="Readiness: 200 only when the database answers and the tables exist.",
)
def health(request: Request) -> JSONResponse:
    state = request.app.state
    engine: Engine = state.engine
    if not state.schema_ready.is_set():
        return JSONResponse({"status": "starting", "database": "unavailable"}, status_code=503)
    try:
        ping(engine)
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable (%s)", db_error_summary(exc))
        return JSONResponse({"status": "error", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/health/live",
    response_model=StatusOut,
    description="Liveness: 200 while the process serves requests, whatever the database does.",
)
def live() -> StatusOut:
    return StatusOut(status="ok")
