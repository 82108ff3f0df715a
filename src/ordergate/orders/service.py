"""Loading orders, and the moves buyers and time make: tracking, a fresh instruction, sandbox
payments, expiry. Operator actions are in orders/operator.py, the views in orders/views.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from ordergate import clock, security
from ordergate.errors import Conflict, IllegalTransition, NotFound
from ordergate.orders import document
from ordergate.orders.models import Order
from ordergate.orders.schemas import SandboxPaymentIn, TrackingOut
from ordergate.orders.state import move
from ordergate.orders.status import OrderStatus
from ordergate.orders.views import tracking_url, tracking_view
from ordergate.payments.models import PaymentInstruction
from ordergate.payments.service import (
    active_instruction,
    find_method,
    instructions_due,
    issue_instruction,
    note_expiry,
    record_payment,
    standing,
    window_closed,
)
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import require_ready


def _full() -> list[object]:
    # Payment and shipment rows are few per order: joined into the order's own query. Lines and
    # events can be many, so each is one more query rather than a cross product.
    return [
        joinedload(Order.instructions).joinedload(PaymentInstruction.transactions),
        joinedload(Order.shipments),
        selectinload(Order.lines),
        selectinload(Order.events),
    ]


async def load_order(
    session: AsyncSession,
    store: Store,
    *,
    token: str | None = None,
    number: str | None = None,
    order_id: int | None = None,
) -> Order:
    stmt = select(Order).where(Order.store_id == store.id).options(*_full())  # type: ignore[arg-type]
    if token is not None:
        stmt = stmt.where(Order.token_hash == security.hash_token(token))
    elif number is not None:
        # By number is the operator's way in: their view lists the refunds too.
        stmt = stmt.where(Order.number == number.strip().upper()).options(selectinload(Order.refunds))
    else:
        stmt = stmt.where(Order.id == order_id)
    order = (await session.execute(stmt)).unique().scalar_one_or_none()
    if order is None:
        raise NotFound("No such order in this store", field="order")
    return order


async def expire_if_due(session: AsyncSession, order: Order, *, now: datetime | None = None) -> bool:
    """Reads never trust a stale status: an unpaid order past its payment window expires now.
    False also when another transaction (the worker, a payment) moved the order first: then the
    order is read again, as that transaction left it."""
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return False
    instruction = active_instruction(order)
    # Payment evidence may lag the window (address polling, callbacks): payments.service decides.
    if instruction is None or not window_closed(instruction, now or clock.now()):
        return False
    try:
        await move(session, order, OrderStatus.EXPIRED, data={"reason": "payment window elapsed"})
    except IllegalTransition:
        # Lost the race: nothing was written by this transaction; show what the winner did.
        await _reload(session, order)
        return False
    note_expiry(session, order, instruction)  # money already received is flagged, never forgotten
    return True


async def _reload(session: AsyncSession, order: Order) -> None:
    stmt = select(Order).where(Order.id == order.id).options(*_full())  # type: ignore[arg-type]
    await session.execute(stmt.execution_options(populate_existing=True))


async def track(session: AsyncSession, store: Store, token: str, *, settings: Settings) -> TrackingOut:
    order = await load_order(session, store, token=token)
    await expire_if_due(session, order)
    return tracking_view(order, store, token=token, settings=settings)


def tracking_document(
    order: Order, store: Store, *, token: str, settings: Settings
) -> tuple[str, datetime | None]:
    """The order's tracking document (orders.document) and until when it holds without a change."""
    view = tracking_view(order, store, token=token, settings=settings).model_dump(mode="json")
    instruction = active_instruction(order)
    until = document.valid_until(
        order.status, OrderStatus.AWAITING_PAYMENT, [instruction.expires_at] if instruction else []
    )
    return document.to_text(view), until


def document_answer(doc: str, store: Store, *, token: str, settings: Settings) -> bytes:
    return document.answer(doc, token=token, tracking_url=tracking_url(settings, store, token))


async def tracking_answer(
    session: AsyncSession, store: Store, token: str, *, settings: Settings
) -> tuple[bytes, str]:
    """The tracking answer's JSON body and its ETag. One SELECT while the stored document holds;
    otherwise the order is loaded, expired if due, rendered, and its document stored again."""
    found = await document.read(session, store_id=store.id, token=token)
    if found is None:
        raise NotFound("No such order in this store", field="order")
    order_id, version, doc, until = found
    now = clock.now()
    if doc is None or (until is not None and until <= now):
        order = await load_order(session, store, order_id=order_id)
        await expire_if_due(session, order, now=now)
        await session.flush()  # a move made now gives the order its new version before it is kept
        doc, until = tracking_document(order, store, token=token, settings=settings)
        version = order.version
        if until is None or until > now:
            await document.keep(session, order_id=order.id, version=version, doc=doc, until=until)
    return document.answer(
        doc, token=token, tracking_url=tracking_url(settings, store, token)
    ), document.etag(version)


async def refresh(session: AsyncSession, store: Store, token: str, *, settings: Settings) -> TrackingOut:
    """A new payment instruction for an expired order: stock held again, amount quoted again."""
    order = await load_order(session, store, token=token)
    await expire_if_due(session, order)
    if order.status != OrderStatus.EXPIRED:
        raise IllegalTransition(
            f"Only an expired order gets a new payment instruction; this one is {order.status}"
        )
    method = find_method(store, order.payment_method)
    if method is None:
        raise Conflict("The payment method of this order is no longer offered", field="payment_method")
    require_ready(method, settings=settings)
    await move(session, order, OrderStatus.AWAITING_PAYMENT, actor="buyer", data={"reason": "refresh"})
    now = clock.now()
    for old in order.instructions:
        if old.superseded_at is None:
            old.superseded_at = now
    order.instructions.append(await issue_instruction(session, store, order, method, settings=settings))
    await session.flush()
    return tracking_view(order, store, token=token, settings=settings)


async def pay_in_sandbox(
    session: AsyncSession, store: Store, token: str, data: SandboxPaymentIn, *, settings: Settings
) -> TrackingOut:
    order = await load_order(session, store, token=token)
    await expire_if_due(session, order)
    instruction = active_instruction(order)
    if instruction is None or instruction.kind != "sandbox":
        raise Conflict("This order is not paid with the sandbox method", field="payment_method")
    reference = data.reference
    if reference is None and data.amount is None:
        # Nothing named and nothing due, but a payment still short of confirmations: this is
        # more confirmations for that payment, not a second payment.
        unconfirmed = [
            t
            for t in instruction.transactions
            if t.dropped_at is None and not t.late and t.confirmations < instruction.required_confirmations
        ]
        if unconfirmed and standing(instruction, order_status=order.status).remaining == 0:
            reference = unconfirmed[0].reference
    await record_payment(
        session,
        order,
        instruction,
        amount=data.amount,
        reference=reference,
        confirmations=data.confirmations,
        actor="sandbox",
    )
    return tracking_view(order, store, token=token, settings=settings)


async def orders_due(session: AsyncSession, *, limit: int) -> list[int]:
    """Ids of unpaid orders whose payment window has run out (read only: each is expired alone)."""
    return await instructions_due(session, now=clock.now(), limit=limit, lock=False)


async def expire_due_order(session: AsyncSession, order_id: int) -> bool:
    """Worker sweep, one order per transaction: expire it if it is still due (stock goes back).
    An order another worker or a request holds right now is skipped; the next pass sees it."""
    now = clock.now()
    order = (
        (
            await session.execute(
                select(Order)
                .where(Order.id == order_id)
                .options(*_full())  # type: ignore[arg-type]
                .with_for_update(skip_locked=True, of=Order)
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if order is None:
        return False
    expired = await expire_if_due(session, order, now=now)
    await session.flush()
    return expired
