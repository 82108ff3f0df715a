"""Service routes: liveness, readiness (database and migrations), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ordergate.business_metrics import refresh_gauges
from ordergate.db import DatabaseNotReady, Session, check_migrated
from ordergate.errors import problem_response

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
async def readyz(request: Request) -> Response:
    try:
        await check_migrated(request.app.state.engine)
    except DatabaseNotReady as exc:
        return problem_response(503, "not-ready", "Not ready", str(exc))
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics", response_class=Response)
async def metrics(session: Session) -> Response:
    await refresh_gauges(session)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
