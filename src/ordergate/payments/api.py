"""Payment routes: provider callbacks, the buyer's request for a remote instruction, and the
operator's view of payment methods and callbacks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, StoreOperator
from ordergate.errors import Forbidden, MalformedBody, NotFound, Unauthorized, problem_response, responses
from ordergate.orders.schemas import TrackingOut
from ordergate.payments import overview
from ordergate.payments.inbox import receive_callback
from ordergate.payments.overview import EVENT_STATUSES
from ordergate.payments.protocol import ProviderUnavailable, SignatureInvalid
from ordergate.payments.remote import prepare_for_buyer
from ordergate.payments.schemas import CallbackAck, PaymentEventListOut, PaymentMethodStatusListOut

callbacks = APIRouter(prefix="/api/v1/webhooks/payments", tags=["payments: callbacks"])
guest = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: orders"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])

OPERATOR_ERRORS = (Unauthorized, Forbidden, NotFound)


def _maker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


@callbacks.post(
    "/{provider}",
    response_model=CallbackAck,
    responses={
        503: {"description": "Stored, but acting on it failed: it is retried; redeliver later"},
        **responses(SignatureInvalid, NotFound, MalformedBody),
    },
)
async def payment_callback(
    session: Session, request: Request, provider: Annotated[str, Path(max_length=32)]
) -> Response:
    # The raw body, byte for byte: signatures are computed over it.
    body = await request.body()
    outcome = await receive_callback(session, provider_kind=provider, headers=request.headers, body=body)
    if outcome.http_status == 400:
        return problem_response(400, MalformedBody.type, "The callback is not an event we can read")
    if outcome.http_status == 503:
        return problem_response(
            503,
            "callback-deferred",
            "The callback was stored but could not be acted on yet",
            headers={"Retry-After": "30"},
        )
    ack = CallbackAck(status=outcome.status, event_id=outcome.event_id)
    return Response(ack.model_dump_json(), media_type="application/json")


@guest.post(
    "/orders/{token}/payment-instruction",
    response_model=TrackingOut,
    responses=responses(NotFound, ProviderUnavailable),
)
async def payment_instruction(
    request: Request,
    settings: AppSettings,
    store: Annotated[str, Path(max_length=64)],
    token: Annotated[str, Path(max_length=128)],
) -> TrackingOut:
    """Open the provider's side (BTCPay invoice, Stripe PaymentIntent) of the order's instruction
    if it is still pending, and return the tracking view. Safe to call again."""
    # No request-wide session here: the provider is asked between two short transactions.
    return await prepare_for_buyer(_maker(request), store, token, settings=settings)


@operator.get(
    "/payment-methods", response_model=PaymentMethodStatusListOut, responses=responses(*OPERATOR_ERRORS)
)
async def payment_methods(
    session: Session, store: CurrentStore, settings: AppSettings, _operator: StoreOperator
) -> PaymentMethodStatusListOut:
    return await overview.method_statuses(session, store, settings=settings)


@operator.get("/payment-events", response_model=PaymentEventListOut, responses=responses(*OPERATOR_ERRORS))
async def payment_events(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    status: Annotated[
        str | None, Query(max_length=16, json_schema_extra={"enum": list(EVENT_STATUSES)})
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaymentEventListOut:
    return await overview.callback_events(session, store, status=status, limit=limit)
