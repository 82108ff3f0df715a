"""Writing messages into the outbox, in the transaction of the change that causes them.

Only models are imported here: orders/state.py and orders/create.py call in, and payments.service
imports orders.state, so anything heavier would close an import cycle. Rendering and sending live
in notifications/delivery.py, which runs in the worker."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.audit.service import Actor
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.notifications.models import (
    DEAD,
    EMAIL,
    PENDING,
    SMS,
    OutboxMessage,
)
from ordergate.notifications.schemas import OutboxListOut, OutboxMessageOut
from ordergate.notifications.sealing import seal
from ordergate.orders.models import Order, OrderEvent
from ordergate.orders.status import OrderStatus
from ordergate.payments.models import PaymentInstruction, Refund
from ordergate.ratelimit import allow
from ordergate.settings import Settings
from ordergate.sql import Write, rowcount, run_writes
from ordergate.stores.models import Store

log = structlog.get_logger("ordergate.notifications")

ORDER_CONFIRMATION = "order_confirmation"
PAYMENT_RECEIVED = "payment_received"
SHIPPED = "shipped"
COMPLETED = "completed"
PAYMENT_EXPIRING = "payment_expiring"
PAYMENT_EXPIRED = "payment_expired"
CANCELLED = "cancelled"
ORDER_LINKS = "order_links"
VERIFICATION_CODE = "verification_code"
REFUND = "refund"
KINDS = (
    ORDER_CONFIRMATION,
    PAYMENT_RECEIVED,
    SHIPPED,
    COMPLETED,
    PAYMENT_EXPIRING,
    PAYMENT_EXPIRED,
    CANCELLED,
    ORDER_LINKS,
    VERIFICATION_CODE,
    REFUND,
)
# Order status reached -> the message the buyer gets. A refresh (expired -> awaiting_payment)
# happens on the buyer's own screen and sends nothing.
STATUS_MESSAGES: dict[str, str] = {
    OrderStatus.FUNDED: PAYMENT_RECEIVED,
    OrderStatus.SHIPPED: SHIPPED,
    OrderStatus.COMPLETED: COMPLETED,
    OrderStatus.EXPIRED: PAYMENT_EXPIRED,
    OrderStatus.CANCELLED: CANCELLED,
}
HOUR = 3600


def link_context(token_hash: str) -> str:
    return f"order-link:{token_hash}"


def secret_context(dedupe_key: str) -> str:
    return f"outbox:{dedupe_key}"


def channel_of(contact: str) -> str:
    return EMAIL if "@" in contact else SMS


def order_contacts(order: Order) -> list[tuple[str, str]]:
    """Whichever contacts the buyer gave: a message goes to each."""
    contacts = []
    if order.email:
        contacts.append((EMAIL, order.email))
    if order.phone:
        contacts.append((SMS, order.phone))
    return contacts


async def _enqueue(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert messages; one whose dedupe key is already there is left as it is (never an error,
    which would undo the business change it rides with)."""
    await run_writes(await session.connection(), _messages(rows))


def _messages(rows: Sequence[dict[str, Any]]) -> list[Write]:
    now = clock.now()
    defaults: dict[str, Any] = {
        "order_id": None,
        "payload": {},
        "sealed": None,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return [Write(_OUTBOX, {**defaults, **row}, skip_conflicts=True) for row in rows]


_OUTBOX = cast(Table, OutboxMessage.__table__)


def _order_rows(order: Order, kind: str, key: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "store_id": order.store_id,
            "order_id": order.id,
            "kind": kind,
            "channel": channel,
            "recipient": contact,
            "dedupe_key": f"{key}:{channel}",
            "payload": payload,
        }
        for channel, contact in order_contacts(order)
    ]


def seal_order_link(settings: Settings, token: str) -> str:
    """The order token sealed with the server key, for `Order.link_seal`: stored with the order
    itself (no statement of its own), bound to that order's token hash so it cannot be moved."""
    return seal(settings, token, context=link_context(security.hash_token(token)))


def order_confirmation(order: Order) -> list[Write]:
    """The outbox rows of the confirmation with the tracking link (unsealed from `order.link_seal`
    when sent), for the placement to write with its order (orders.place.insert_order)."""
    return _messages(_order_rows(order, ORDER_CONFIRMATION, f"order:{order.id}:confirmation", {}))


async def notify_status_change(session: AsyncSession, order: Order, event: OrderEvent) -> None:
    """A message for the status `event` moved `order` to (needs `order.events` loaded, as move() does)."""
    kind = STATUS_MESSAGES.get(event.to_status or "")
    if kind is None or order.checkout_hash is None or order.test:
        # No message for this move; or another channel's order, whose channel tells its buyer;
        # or a test order, whose buyer is nobody.
        return
    # The n-th time the order reaches this status (an order can expire again after a refresh).
    nth = sum(1 for e in order.events if e.type == "status" and e.to_status == event.to_status)
    payload: dict[str, Any] = {"from_status": event.from_status, "status": event.to_status}
    if event.data.get("reason") and kind == CANCELLED:
        payload["reason"] = str(event.data["reason"])[:500]
    await _enqueue(session, _order_rows(order, kind, f"order:{order.id}:{event.to_status}:{nth}", payload))


async def notify_refund(session: AsyncSession, order: Order, refund: Refund) -> None:
    """The buyer is told money is coming back (and, for BTCPay, where to claim it): once per refund."""
    if order.checkout_hash is None:
        return  # another channel's order: its channel tells its buyer
    payload = {
        "refund": {
            "amount": format(refund.amount, "f"),
            "currency": refund.currency,
            "state": refund.state,
            "claim_url": refund.claim_url,
            "lines": [
                {"sku": str(line["sku"]), "quantity": int(line["quantity"])} for line in refund.lines or []
            ],
        }
    }
    await _enqueue(session, _order_rows(order, REFUND, f"refund:{refund.public_id}", payload))


async def enqueue_verification_code(
    session: AsyncSession,
    store: Store,
    contact: str,
    code: str,
    *,
    settings: Settings,
    valid_minutes: int | None = None,
    dedupe_key: str | None = None,
    verify_url: str | None = None,
) -> None:
    """A one-time code to `contact` (an email address or an E.164 phone number). The code is sealed
    in the row and cleared once delivered. With `verify_url`, the message also links to that page
    with the code after `#` (never sent to the server by a browser, so a mail scanner's GET spends
    nothing: only the page's own POST does)."""
    key = dedupe_key or f"code:{uuid.uuid4().hex}"
    await _enqueue(
        session,
        [
            {
                "store_id": store.id,
                "kind": VERIFICATION_CODE,
                "channel": channel_of(contact),
                "recipient": contact,
                "dedupe_key": key,
                "payload": {"valid_minutes": valid_minutes, "verify_url": verify_url},
                "sealed": seal(settings, code, context=secret_context(key)),
            }
        ],
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def one_contact(email: str | None, phone: str | None) -> str:
    """The contact of a lost-link request: exactly one of email or phone."""
    if email and phone:
        raise Unprocessable("Give either the email address or the phone number, not both", field="phone")
    if not (email or phone):
        raise Unprocessable(
            "Give the email address or the phone number the order was placed with", field="email"
        )
    return email or phone or ""


async def request_order_links(
    session: AsyncSession, store: Store, contact: str, *, client: str, settings: Settings
) -> bool:
    """Queue the tracking links of `contact`'s orders to that contact. The same work whether or
    not anything matches (the worker looks the orders up); returns False when rate limited, in
    which case nothing is queued."""
    per_contact = await allow(
        session,
        f"links:c:{_digest(f'{store.id}:{contact.lower()}')}",
        limit=settings.order_links_per_contact_per_hour,
        period=HOUR,
    )
    per_client = await allow(
        session,
        f"links:a:{_digest(client)}",
        limit=settings.order_links_per_client_per_hour,
        period=HOUR,
    )
    if not (per_contact and per_client):
        log.info("order_links_rate_limited", store=store.slug, by="contact" if not per_contact else "client")
        return False
    await _enqueue(
        session,
        [
            {
                "store_id": store.id,
                "kind": ORDER_LINKS,
                "channel": channel_of(contact),
                "recipient": contact,
                "dedupe_key": f"links:{uuid.uuid4().hex}",
            }
        ],
    )
    return True


def reminder_due(created_at: datetime, expires_at: datetime, now: datetime, lead: timedelta) -> bool:
    """Remind at most `lead` before the end and never in the first two thirds of the window:
    a 15-minute window is reminded 5 minutes before, a 3-day bank transfer a day before."""
    threshold = min(lead, (expires_at - created_at) / 3)
    return now < expires_at and expires_at - now <= threshold


async def queue_payment_reminders(
    session: AsyncSession, *, now: datetime, lead: timedelta, limit: int = 500
) -> int:
    """Worker sweep: one "payment expiring soon" message per payment instruction."""
    already = exists().where(
        OutboxMessage.order_id == Order.id,
        OutboxMessage.kind == PAYMENT_EXPIRING,
        OutboxMessage.created_at >= PaymentInstruction.created_at,
    )
    rows = (
        await session.execute(
            select(PaymentInstruction.id, PaymentInstruction.created_at, PaymentInstruction.expires_at, Order)
            .join(Order, Order.id == PaymentInstruction.order_id)
            .where(
                Order.status == OrderStatus.AWAITING_PAYMENT,
                PaymentInstruction.superseded_at.is_(None),
                PaymentInstruction.covered_at.is_(None),  # paid in full, confirming: nothing to remind
                PaymentInstruction.expires_at > now,
                PaymentInstruction.expires_at <= now + lead,
                ~already,
            )
            .order_by(PaymentInstruction.expires_at)
            .limit(limit)
        )
    ).all()
    queued = 0
    for instruction_id, created_at, expires_at, order in rows:
        if not reminder_due(created_at, expires_at, now, lead):
            continue
        payload = {"instruction_id": instruction_id}
        await _enqueue(
            session, _order_rows(order, PAYMENT_EXPIRING, f"instruction:{instruction_id}:expiring", payload)
        )
        queued += 1
    return queued


# --- operator ---------------------------------------------------------------------------------

OUTBOX_STATES = (PENDING, "sent", "skipped", DEAD)


async def list_outbox(session: AsyncSession, store: Store, *, state: str | None, limit: int) -> OutboxListOut:
    if state is not None and state not in OUTBOX_STATES:
        raise Unprocessable(f"state must be one of {', '.join(OUTBOX_STATES)}", field="state")
    stmt = (
        select(OutboxMessage, Order.number)
        .outerjoin(Order, Order.id == OutboxMessage.order_id)
        .where(OutboxMessage.store_id == store.id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    rows = (await session.execute(stmt)).all()
    return OutboxListOut(items=[outbox_view(message, number) for message, number in rows])


def outbox_view(message: OutboxMessage, order_number: str | None) -> OutboxMessageOut:
    return OutboxMessageOut(
        id=message.id,
        kind=message.kind,
        channel=message.channel,
        recipient=message.recipient,
        order_number=order_number,
        state=message.state,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at if message.state == PENDING else None,
        last_error=message.last_error,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


async def retry_dead(
    session: AsyncSession, store: Store, message_id: int, *, actor: Actor
) -> OutboxMessageOut:
    """Give a dead message a fresh set of tries (after fixing what killed it)."""
    row = (
        await session.execute(
            select(OutboxMessage, Order.number)
            .outerjoin(Order, Order.id == OutboxMessage.order_id)
            .where(OutboxMessage.id == message_id, OutboxMessage.store_id == store.id)
        )
    ).first()
    if row is None:
        raise NotFound("No such message in this store's outbox", field="message_id")
    message, number = row
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.state == DEAD)
        .values(state=PENDING, attempts=0, next_attempt_at=clock.now(), claim=None)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(result):
        raise Conflict(f"Only a dead message can be retried; this one is {message.state}", field="state")
    await session.refresh(message)
    await actor.record(
        session, store_id=store.id, action="message.retry", target=str(message.id), detail={"order": number}
    )
    return outbox_view(message, number)
