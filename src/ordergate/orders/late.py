"""The operator accepts a late payment: an order that expired unpaid, whose money arrived after its
window, becomes funded after all. Two moves of the contract's own table: reopened (expired ->
awaiting_payment, which holds its units again if they are still there) and funded (the units come
off the shelf), in one transaction."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.audit.service import Actor
from ordergate.errors import Conflict
from ordergate.orders.models import Order
from ordergate.orders.schemas import OperatorOrderOut
from ordergate.orders.service import expire_if_due, load_order
from ordergate.orders.state import move, record_event
from ordergate.orders.status import OrderStatus
from ordergate.orders.views import operator_view
from ordergate.payments.models import PaymentInstruction
from ordergate.stores.models import Store


def late_cover(order: Order) -> tuple[PaymentInstruction, Decimal] | None:
    """The instruction whose confirmed money (late included) covers its amount, and that money."""
    for instruction in reversed(order.instructions):
        confirmed = sum(
            (
                t.amount
                for t in instruction.transactions
                if t.dropped_at is None and t.confirmations >= instruction.required_confirmations
            ),
            Decimal(0),
        )
        if confirmed > 0 and confirmed >= instruction.amount:
            return instruction, confirmed
    return None


def can_accept_late(order: Order) -> bool:
    return order.status == OrderStatus.EXPIRED and late_cover(order) is not None


async def accept_late_payment(
    session: AsyncSession, store: Store, number: str, *, actor: Actor
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    if order.status != OrderStatus.EXPIRED:
        raise Conflict(
            f"Only an expired order can accept a late payment; this one is {order.status}", field="status"
        )
    cover = late_cover(order)
    if cover is None:
        raise Conflict("No confirmed payment covers this order's amount", field="payment")
    instruction, confirmed = cover
    why = {"reason": "late payment accepted", "confirmed": money.text(confirmed, instruction.asset)}
    await move(session, order, OrderStatus.AWAITING_PAYMENT, actor=actor.label, data=why)
    await move(session, order, OrderStatus.FUNDED, actor=actor.label, data=why)
    order.needs_attention, order.attention_reason = False, None
    record_event(
        session, order, "late_payment_accepted", actor=actor.label, data={"asset": instruction.asset}
    )
    await actor.record(
        session, store_id=store.id, action="order.accept_late_payment", target=order.number, detail=why
    )
    return operator_view(order, store)
