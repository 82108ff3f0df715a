"""Service routes: liveness, readiness (database and migrations), Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from ordergate.db import DatabaseNotReady, check_migrated
from ordergate.deps import AppSettings, bearer_token
from ordergate.errors import problem_response
from ordergate.security import same_secret

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


def _request_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # `serve --workers N`: every web process writes its counters to files; add them up.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@router.get(
    "/metrics",
    response_class=Response,
    responses={401: {"description": "ORDERGATE_METRICS_TOKEN is set and this request lacks it"}},
)
async def metrics(request: Request, settings: AppSettings) -> Response:
    """Request metrics for anyone who can reach the port; the business gauges (orders, payments,
    intake, outbox) only with `Authorization: Bearer <ORDERGATE_METRICS_TOKEN>`."""
    token = settings.metrics_token
    if token is None:
        return Response(_request_metrics(), media_type=CONTENT_TYPE_LATEST)
    given = bearer_token(request)
    if given is None or not same_secret(given, token.get_secret_value()):
        return problem_response(
            401, "unauthorized", "The metrics token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    business = await request.app.state.business_gauges.render(request.app.state.sessionmaker)
    return Response(_request_metrics() + business, media_type=CONTENT_TYPE_LATEST)
