"""The operator's refund route (store key): full or partial, through the provider where there is one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ordergate.db import Session
from ordergate.deps import CurrentStore, KeyActor
from ordergate.errors import Conflict, Forbidden, NotFound, Unauthorized, responses
from ordergate.orders.schemas import RefundIn, RefundOut
from ordergate.payments.refund_plan import RefundTooLarge
from ordergate.payments.refunds import refund_order

router = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])


@router.post(
    "/orders/{number}/refunds",
    status_code=201,
    response_model=RefundOut,
    responses=responses(Unauthorized, Forbidden, NotFound, Conflict, RefundTooLarge),
)
async def create_refund(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    number: Annotated[str, Path(max_length=32)],
    body: RefundIn,
) -> RefundOut:
    """Refund `amount`, or `lines` (their value), or everything not yet refunded. Card (Stripe) and
    BTCPay payments go back through the provider; sandbox refunds are simulated; on-chain, bank and
    channel refunds are `recorded` with the operator's `reference`. More than was paid and not yet
    refunded is a 409. With `restock`, the refunded lines' units go back on sale."""
    return await refund_order(session, store, number, body, actor=actor)
