"""Intake routes: channel deliveries (signature-verified per source) and the operator's quarantine."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, KeyActor, StoreOperator
from ordergate.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    domain_problem,
    problem_response,
    responses,
)
from ordergate.intake import flow, mappings, quarantine, receive
from ordergate.intake.models import HELD, PAYLOAD_STATUSES, QUARANTINED
from ordergate.intake.refusals import RefusalsThrottled
from ordergate.intake.schemas import (
    BulkReplayIn,
    BulkReplayOut,
    DismissIn,
    IntakeResultOut,
    IntakeStatsOut,
    PayloadDetailOut,
    PayloadListOut,
    PayloadOut,
    PingOut,
    ReplayIn,
    ReplayOut,
    SkuMappingIn,
    SkuMappingListOut,
    SkuMappingOut,
)
from ordergate.intake.sources import find_source
from ordergate.settings import Settings

channels = APIRouter(prefix="/api/v1/intake", tags=["intake"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin/intake", tags=["operator: intake"])

SourceKey = Annotated[str, Path(max_length=32)]
IntakeId = Annotated[str, Path(max_length=32)]
OPERATOR_ERRORS = (Unauthorized, Forbidden, NotFound)
_ONE_STATUS = "|".join(PAYLOAD_STATUSES)
STATUS_LIST = rf"^({_ONE_STATUS})(\s*,\s*({_ONE_STATUS}))*$"  # documented; the service checks each
BODY_DOC = {
    "requestBody": {
        "description": "The channel's payload, byte for byte as signed: Shopify or WooCommerce order "
        "JSON, or the canonical order (see CanonicalOrder) for generic sources.",
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _writer_turn(request: Request, settings: Settings) -> AbstractAsyncContextManager[Any]:
    """SQLite has one writer at a time, and its waiters poll with growing sleeps, so a burst of
    deliveries would wait on each other unfairly (seconds at the tail). They take turns here, in
    arrival order, instead; PostgreSQL needs no such thing."""
    if not settings.is_sqlite:
        return nullcontext()
    lock: asyncio.Lock | None = getattr(request.app.state, "intake_writer_turn", None)
    if lock is None:
        lock = request.app.state.intake_writer_turn = asyncio.Lock()
    return lock


def _refused(error: DomainError) -> Response:
    if isinstance(error, RefusalsThrottled):
        return problem_response(
            error.status,
            error.type,
            error.title,
            error.detail,
            headers={"Retry-After": str(error.retry_after)},
        )
    return domain_problem(error)


@channels.post(
    "/{source}",
    status_code=202,
    response_model=IntakeResultOut,
    responses={
        200: {"model": PingOut, "description": "WooCommerce's unsigned ping when a webhook is saved"},
        **responses(NotFound, receive.SignatureRefused, PayloadTooLarge, RefusalsThrottled),
    },
    openapi_extra=BODY_DOC,
)
async def receive_delivery(
    request: Request, session: Session, settings: AppSettings, source: SourceKey
) -> Response:
    """One delivery from a channel: stored, mapped, checked, then accepted or quarantined.
    Bad or missing signatures (401) and oversized bodies (413) are refused and recorded without
    their body."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    content_type = headers.get("content-type", "")
    limit = settings.intake_max_body_bytes
    declared = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    too_large = PayloadTooLarge(f"Deliveries are limited to {limit} bytes", field="body")
    if declared is not None and declared > limit:
        channel, _ = await find_source(session, source, http=True)
        if (
            await receive.refuse_delivery(session, channel, headers, reason="too_large", size=declared)
            is None
        ):
            return _refused(RefusalsThrottled())
        return domain_problem(too_large)
    # The body is read before the first query: a slow sender holds no connection (nor, on SQLite,
    # the write lock) while it uploads.
    chunks: list[bytes] = []
    received, cut_off = 0, False
    try:
        async for chunk in request.stream():
            chunks.append(chunk)
            received += len(chunk)
    except ClientDisconnect:  # the server's body limit cut it off (or the sender went away)
        cut_off = True
    async with _writer_turn(request, settings):
        channel, store = await find_source(session, source, http=True)
        if cut_off:
            if (
                await receive.refuse_delivery(session, channel, headers, reason="body_cut_off", size=received)
                is None
            ):
                return _refused(RefusalsThrottled())
            return domain_problem(too_large)
        outcome = await receive.deliver(
            session,
            channel,
            store,
            headers=headers,
            body=b"".join(chunks),
            content_type=content_type,
            settings=settings,
        )
    if outcome == receive.PING:
        return JSONResponse(PingOut().model_dump(), status_code=200)
    if isinstance(outcome, receive.Refusal):
        return _refused(outcome.error)
    assert isinstance(outcome, flow.Result)
    return JSONResponse(quarantine.result_out(outcome).model_dump(mode="json"), status_code=202)


@operator.get("/payloads", response_model=PayloadListOut, responses=responses(*OPERATOR_ERRORS))
async def list_payloads(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    status: Annotated[
        str | None,
        Query(max_length=200, description="comma-separated statuses", pattern=STATUS_LIST),
    ] = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    rule: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PayloadListOut:
    statuses = tuple(s.strip() for s in status.split(",") if s.strip()) if status else None
    return await quarantine.list_payloads(
        session, store, statuses=statuses, source=source, rule=rule, limit=limit
    )


@operator.get("/quarantine", response_model=PayloadListOut, responses=responses(*OPERATOR_ERRORS))
async def list_quarantine(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    source: Annotated[str | None, Query(max_length=32)] = None,
    rule: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PayloadListOut:
    """Payloads waiting for someone: quarantined (every failed rule, with its owner) or held."""
    return await quarantine.list_payloads(
        session, store, statuses=(QUARANTINED, HELD), source=source, rule=rule, limit=limit
    )


@operator.get("/payloads/{intake_id}", response_model=PayloadDetailOut, responses=responses(*OPERATOR_ERRORS))
async def get_payload(
    session: Session, store: CurrentStore, _operator: StoreOperator, intake_id: IntakeId
) -> PayloadDetailOut:
    return await quarantine.payload_detail(session, store, intake_id)


@operator.post(
    "/payloads/{intake_id}/replay",
    response_model=ReplayOut,
    responses=responses(*OPERATOR_ERRORS, Conflict),
)
async def replay_payload(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    intake_id: IntakeId,
    body: ReplayIn | None = None,
) -> ReplayOut:
    """Run a payload through the flow again, with a corrected body if one is given. Idempotent:
    a settled payload is not run twice (`replayed: false`)."""
    return await quarantine.replay(session, store, intake_id, body or ReplayIn(), actor=actor)


@operator.post(
    "/payloads/{intake_id}/dismiss",
    response_model=PayloadOut,
    responses=responses(*OPERATOR_ERRORS, Conflict),
)
async def dismiss_payload(
    session: Session, store: CurrentStore, actor: KeyActor, intake_id: IntakeId, body: DismissIn
) -> PayloadOut:
    return await quarantine.dismiss(session, store, intake_id, body, actor=actor)


@operator.post("/replay", response_model=BulkReplayOut, responses=responses(*OPERATOR_ERRORS))
async def replay_quarantine(
    session: Session, store: CurrentStore, actor: KeyActor, body: BulkReplayIn | None = None
) -> BulkReplayOut:
    """Replay every quarantined payload (of one source, or failing one rule), oldest first."""
    return await quarantine.replay_many(session, store, body or BulkReplayIn(), actor=actor)


@operator.get("/stats", response_model=IntakeStatsOut, responses=responses(*OPERATOR_ERRORS))
async def intake_stats(session: Session, store: CurrentStore, _operator: StoreOperator) -> IntakeStatsOut:
    return await quarantine.stats(session, store)


@operator.get(
    "/sources/{source}/sku-mappings", response_model=SkuMappingListOut, responses=responses(*OPERATOR_ERRORS)
)
async def list_mappings(
    session: Session, store: CurrentStore, _operator: StoreOperator, source: SourceKey
) -> SkuMappingListOut:
    return await mappings.list_mappings(session, store, source)


@operator.put(
    "/sources/{source}/sku-mappings", response_model=SkuMappingOut, responses=responses(*OPERATOR_ERRORS)
)
async def put_mapping(
    session: Session, store: CurrentStore, actor: KeyActor, source: SourceKey, body: SkuMappingIn
) -> SkuMappingOut:
    return await mappings.put_mapping(session, store, source, body, actor=actor)


@operator.delete("/sources/{source}/sku-mappings", status_code=204, responses=responses(*OPERATOR_ERRORS))
async def delete_mapping(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    source: SourceKey,
    external_sku: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    await mappings.delete_mapping(session, store, source, external_sku, actor=actor)
    return Response(status_code=204)
