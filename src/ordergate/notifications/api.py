"""Notification routes: lost-link recovery (guest) and the outbox as the operator sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, KeyActor, StoreOperator, client_address
from ordergate.errors import Conflict, Forbidden, NotFound, Unauthorized, responses
from ordergate.notifications import service
from ordergate.notifications.schemas import OrderLinksIn, OrderLinksOut, OutboxListOut, OutboxMessageOut
from ordergate.notifications.service import OUTBOX_STATES

guest = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: orders"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])
OPERATOR_ERRORS = (Unauthorized, Forbidden, NotFound)


@guest.post(
    "/order-links",
    status_code=202,
    response_model=OrderLinksOut,
    responses=responses(NotFound),
    summary="Send the tracking links of a contact's orders to that contact",
    description=(
        "Always 202, whether or not any order matched and whether or not the request was over "
        "the rate limit (per contact and per client address): the answer reveals nothing."
    ),
)
async def order_links(
    session: Session, store: CurrentStore, settings: AppSettings, body: OrderLinksIn, request: Request
) -> OrderLinksOut:
    contact = service.one_contact(body.email, body.phone)
    client = client_address(request)
    await service.request_order_links(session, store, contact, client=client, settings=settings)
    return OrderLinksOut()


@operator.get("/outbox", response_model=OutboxListOut, responses=responses(*OPERATOR_ERRORS))
async def list_outbox(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    state: Annotated[
        str | None,
        Query(
            max_length=16,
            description="pending, sent, skipped or dead",
            json_schema_extra={"enum": list(OUTBOX_STATES)},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxListOut:
    return await service.list_outbox(session, store, state=state, limit=limit)


@operator.post(
    "/outbox/{message_id}/retry",
    response_model=OutboxMessageOut,
    responses=responses(*OPERATOR_ERRORS, Conflict),
)
async def retry_message(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    message_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> OutboxMessageOut:
    return await service.retry_dead(session, store, message_id, actor=actor)
