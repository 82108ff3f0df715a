"""Order routes: tracking (guest), operator actions (store key), sandbox payments. Placing an order
is completing a checkout: checkout/api.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Response

from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, KeyActor, StoreOperator
from ordergate.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotAvailable,
    NotFound,
    OutOfStock,
    Unauthorized,
    responses,
)
from ordergate.orders import operator as manage
from ordergate.orders import service
from ordergate.orders.book import OrderFilters, order_page, orders_csv
from ordergate.orders.late import accept_late_payment
from ordergate.orders.schemas import (
    CancelIn,
    OperatorOrderOut,
    OrderListOut,
    PaymentEvidenceIn,
    SandboxPaymentIn,
    ShipmentIn,
    TrackingOut,
)
from ordergate.orders.status import STATUSES

guest = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: orders"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])
sandbox = APIRouter(prefix="/api/v1/sandbox/stores/{store}", tags=["sandbox"])

Token = Annotated[str, Path(max_length=128)]
Number = Annotated[str, Path(max_length=32)]
OPERATOR_ERRORS = (Unauthorized, Forbidden, NotFound)


@guest.get(
    "/orders/{token}",
    response_model=TrackingOut,
    responses={
        **responses(NotFound),
        304: {"description": "Unchanged since the ETag sent in If-None-Match (no body)"},
    },
)
async def track(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    token: Token,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    """The order as its token holder sees it, with a strong ETag (the order's version): a page
    polling with If-None-Match gets 304 and no body until the order changes."""
    body, tag = await service.tracking_answer(session, store, token, settings=settings)
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})


@guest.post(
    "/orders/{token}/refresh",
    response_model=TrackingOut,
    responses=responses(NotFound, IllegalTransition, OutOfStock, NotAvailable),
)
async def refresh(session: Session, store: CurrentStore, settings: AppSettings, token: Token) -> TrackingOut:
    return await service.refresh(session, store, token, settings=settings)


@sandbox.post(
    "/orders/{token}/payments",
    status_code=201,
    response_model=TrackingOut,
    responses=responses(NotFound, Conflict),
)
async def sandbox_payment(
    session: Session, store: CurrentStore, settings: AppSettings, token: Token, body: SandboxPaymentIn
) -> TrackingOut:
    if not settings.sandbox:
        raise NotFound("The sandbox is not enabled on this server")
    return await service.pay_in_sandbox(session, store, token, body, settings=settings)


@operator.get(
    "/orders",
    response_model=OrderListOut,
    responses={
        **responses(*OPERATOR_ERRORS),
        200: {"content": {"text/csv": {}}, "description": "The list; with format=csv every page of it"},
    },
)
async def list_orders(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    status: Annotated[
        str | None, Query(max_length=32, json_schema_extra={"enum": [str(s) for s in STATUSES]})
    ] = None,
    attention: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    source: Annotated[str | None, Query(max_length=32, description="web-guest, an intake source")] = None,
    created_from: Annotated[date | None, Query(description="First day (UTC) of the orders' creation")] = None,
    created_to: Annotated[date | None, Query(description="Last day (UTC), included")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="An order number, or part of an email or phone")
    ] = None,
    after: Annotated[str | None, Query(max_length=200, description="The `next` of the page before")] = None,
    as_format: Annotated[
        Literal["json", "csv"], Query(alias="format", description="csv: every matching order, as CSV")
    ] = "json",
) -> OrderListOut | Response:
    filters = OrderFilters(status, attention, source, created_from, created_to, q)
    if as_format == "csv":
        text = await orders_csv(session, store, filters)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{store.slug}-orders.csv"'},
        )
    return await order_page(session, store, filters, limit=limit, after=after)


@operator.get("/orders/{number}", response_model=OperatorOrderOut, responses=responses(*OPERATOR_ERRORS))
async def get_order(
    session: Session, store: CurrentStore, _operator: StoreOperator, number: Number
) -> OperatorOrderOut:
    return await manage.operator_order(session, store, number)


@operator.post(
    "/orders/{number}/payments",
    response_model=OperatorOrderOut,
    responses=responses(*OPERATOR_ERRORS, Conflict),
)
async def record_payment(
    session: Session, store: CurrentStore, actor: KeyActor, number: Number, body: PaymentEvidenceIn
) -> OperatorOrderOut:
    return await manage.record_payment_evidence(session, store, number, body, actor=actor)


@operator.post(
    "/orders/{number}/shipments",
    response_model=OperatorOrderOut,
    responses=responses(*OPERATOR_ERRORS, IllegalTransition),
)
async def record_shipment(
    session: Session, store: CurrentStore, actor: KeyActor, number: Number, body: ShipmentIn
) -> OperatorOrderOut:
    return await manage.record_shipment(session, store, number, body, actor=actor)


@operator.post(
    "/orders/{number}/complete",
    response_model=OperatorOrderOut,
    responses=responses(*OPERATOR_ERRORS, IllegalTransition),
)
async def complete(
    session: Session, store: CurrentStore, actor: KeyActor, number: Number
) -> OperatorOrderOut:
    return await manage.complete(session, store, number, actor=actor)


@operator.post(
    "/orders/{number}/cancel",
    response_model=OperatorOrderOut,
    responses=responses(*OPERATOR_ERRORS, IllegalTransition),
)
async def cancel(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    number: Number,
    body: CancelIn | None = None,
) -> OperatorOrderOut:
    return await manage.cancel(session, store, number, body or CancelIn(), actor=actor)


@operator.post(
    "/orders/{number}/accept-payment",
    response_model=OperatorOrderOut,
    responses=responses(*OPERATOR_ERRORS, Conflict, OutOfStock),
)
async def accept_payment(
    session: Session, store: CurrentStore, actor: KeyActor, number: Number
) -> OperatorOrderOut:
    """Accept a payment that arrived after the order expired: the order becomes funded (409 when
    confirmed money does not cover it, or its units are no longer in stock)."""
    return await accept_late_payment(session, store, number, actor=actor)
