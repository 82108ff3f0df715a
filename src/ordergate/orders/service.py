"""Reading orders (tracking and operator views) and the moves buyers, operators and time make."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from ordergate import clock, money, security
from ordergate.checkout.schemas import TotalsOut
from ordergate.checkout.service import tracking_url
from ordergate.errors import Conflict, IllegalTransition, NotFound, Unprocessable
from ordergate.orders.models import Order, Shipment
from ordergate.orders.schemas import (
    CancelIn,
    ContactOut,
    EventOut,
    MilestoneOut,
    OperatorOrderOut,
    OrderLineOut,
    OrderListOut,
    OrderSummaryOut,
    PaymentEvidenceIn,
    PaymentOut,
    PaymentRecordOut,
    RefundNoteIn,
    SandboxPaymentIn,
    ShipmentIn,
    ShipmentOut,
    TrackingOut,
)
from ordergate.orders.state import (
    AWAITING_PAYMENT,
    CANCELLED,
    COMPLETED,
    EXPIRED,
    FUNDED,
    SHIPPED,
    STATUSES,
    milestones,
    move,
    record_event,
)
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
        stmt = stmt.where(Order.number == number.strip().upper())
    else:
        stmt = stmt.where(Order.id == order_id)
    order = (await session.execute(stmt)).unique().scalar_one_or_none()
    if order is None:
        raise NotFound("No such order in this store", field="order")
    return order


async def expire_if_due(session: AsyncSession, order: Order, *, now: datetime | None = None) -> bool:
    """Reads never trust a stale status: an unpaid order past its payment window expires now."""
    if order.status != AWAITING_PAYMENT:
        return False
    instruction = active_instruction(order)
    # Payment evidence may lag the window (address polling, callbacks): payments.service decides.
    if instruction is None or not window_closed(instruction, now or clock.now()):
        return False
    await move(session, order, EXPIRED, data={"reason": "payment window elapsed"})
    note_expiry(session, order, instruction)  # money already received is flagged, never forgotten
    return True


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{name[:1]}•••.{tld}"


def mask_phone(phone: str) -> str:
    return phone[:3] + "•" * max(len(phone) - 6, 0) + phone[-3:]


def _payment(order: Order) -> PaymentOut | None:
    instruction = active_instruction(order)
    if instruction is None:
        return None
    s = standing(instruction, order_status=order.status)
    # format(..., "f"): str() writes an 8-decimal zero as "0E-8", not a decimal string.
    return PaymentOut(
        method=instruction.method,
        kind=instruction.kind,
        asset=instruction.asset,
        amount=money.text(instruction.amount, instruction.asset),
        destination=instruction.destination,
        uri=instruction.uri,
        required_confirmations=instruction.required_confirmations,
        confirmations=s.confirmations,
        received_amount=money.text(s.received, instruction.asset),
        remaining_amount=money.text(s.remaining, instruction.asset),
        expires_at=instruction.expires_at,
        state=s.state,
        details=instruction.details,
    )


def _tracking_fields(order: Order, store: Store) -> dict[str, object]:
    return {
        "number": order.number,
        "store": store.slug,
        "status": order.status,
        "created_at": order.created_at,
        "milestones": [MilestoneOut(status=s, reached_at=t) for s, t in milestones(order.events)],
        "items": [
            OrderLineOut(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=money.text(line.unit_price, order.currency),
                line_total=money.text(line.line_total, order.currency),
            )
            for line in order.lines
        ],
        "totals": TotalsOut(
            subtotal=money.text(order.subtotal, order.currency),
            shipping=money.text(order.shipping, order.currency),
            total=money.text(order.total, order.currency),
            currency=order.currency,
        ),
        "payment": _payment(order),
        "shipments": [
            ShipmentOut(
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                evidence=s.evidence,
                shipped_at=s.shipped_at,
            )
            for s in order.shipments
        ],
        "can_refresh": order.status == EXPIRED,
    }


def tracking_view(order: Order, store: Store, *, token: str, settings: Settings) -> TrackingOut:
    """What the token holder sees: no delivery address, no full email or phone."""
    hint = mask_email(order.email) if order.email else (mask_phone(order.phone) if order.phone else None)
    return TrackingOut(
        token=token,
        tracking_url=tracking_url(settings, store, token),
        contact_hint=hint,
        ship_to_country=(order.delivery or {}).get("country"),
        **_tracking_fields(order, store),
    )


def operator_view(order: Order, store: Store) -> OperatorOrderOut:
    return OperatorOrderOut(
        token=None,
        contact=ContactOut(email=order.email, phone=order.phone),
        delivery=order.delivery,
        ship_to_country=(order.delivery or {}).get("country"),
        events=[
            EventOut(
                type=e.type,
                from_status=e.from_status,
                to_status=e.to_status,
                actor=e.actor,
                data=e.data,
                created_at=e.created_at,
            )
            for e in order.events
        ],
        source=order.source,
        external_id=order.external_id,
        accepted_policies=order.accepted_policies,
        needs_attention=order.needs_attention,
        attention_reason=order.attention_reason,
        payments=[
            PaymentRecordOut(
                method=i.method,
                asset=i.asset,
                reference=t.reference,
                amount=money.text(t.amount, i.asset),
                confirmations=t.confirmations,
                late=t.late,
                dropped=t.dropped_at is not None,
                received_at=t.received_at,
            )
            for i in order.instructions
            for t in i.transactions
        ],
        **_tracking_fields(order, store),
    )


async def track(session: AsyncSession, store: Store, token: str, *, settings: Settings) -> TrackingOut:
    order = await load_order(session, store, token=token)
    await expire_if_due(session, order)
    return tracking_view(order, store, token=token, settings=settings)


async def refresh(session: AsyncSession, store: Store, token: str, *, settings: Settings) -> TrackingOut:
    """A new payment instruction for an expired order: stock held again, amount quoted again."""
    order = await load_order(session, store, token=token)
    await expire_if_due(session, order)
    if order.status != EXPIRED:
        raise IllegalTransition(
            f"Only an expired order gets a new payment instruction; this one is {order.status}"
        )
    method = find_method(store, order.payment_method)
    if method is None:
        raise Conflict("The payment method of this order is no longer offered", field="payment_method")
    await move(session, order, AWAITING_PAYMENT, actor="buyer", data={"reason": "refresh"})
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
    await record_payment(
        session,
        order,
        instruction,
        amount=data.amount,
        reference=data.reference,
        confirmations=data.confirmations,
        actor="sandbox",
    )
    return tracking_view(order, store, token=token, settings=settings)


# --- operator ---------------------------------------------------------------------------------


MAX_SEARCH = 100


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _search_clause(text: str) -> ColumnElement[bool]:
    """An order number (with or without its dash), part of an email address or phone number, or
    the order's id in its channel."""
    clauses = [Order.external_id == text]
    number = text.upper().replace(" ", "")
    if len(number) >= 4 and set(number) <= set(security.NUMBER_ALPHABET + "-"):
        clauses.append(Order.number.contains(number, autoescape=True))
        if "-" not in number and len(number) == 8:
            clauses.append(Order.number == f"{number[:4]}-{number[4:]}")
    clauses.append(func.lower(Order.email).contains(text.lower(), autoescape=True))
    digits = "".join(c for c in text if c.isdigit()).lstrip("0")  # a national 0 is not in E.164
    if len(digits) >= 4:
        clauses.append(Order.phone.contains(digits, autoescape=True))
    return or_(*clauses)


async def list_orders(
    session: AsyncSession,
    store: Store,
    *,
    status: str | None,
    attention: bool | None,
    limit: int,
    source: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    search: str | None = None,
) -> OrderListOut:
    """Newest first. `created_from`/`created_to` are whole UTC days, both included; `search` finds
    an order by number or by its buyer's email or phone."""
    if status is not None and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}", field="status")
    if created_from is not None and created_to is not None and created_to < created_from:
        raise Unprocessable("created_to must not be before created_from", field="created_to")
    search = (search or "").strip()
    if len(search) > MAX_SEARCH:
        raise Unprocessable(f"search is at most {MAX_SEARCH} characters", field="q")
    for field, value in (("source", source), ("q", search)):
        if value and "\x00" in value:
            raise Unprocessable(f"{field} must not contain NUL characters", field=field)
    stmt = select(Order).where(Order.store_id == store.id).order_by(Order.created_at.desc(), Order.id.desc())
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if attention is not None:
        stmt = stmt.where(Order.needs_attention == attention)
    if source is not None:
        stmt = stmt.where(Order.source == source)
    if created_from is not None:
        stmt = stmt.where(Order.created_at >= _day_start(created_from))
    if created_to is not None:
        stmt = stmt.where(Order.created_at < _day_start(created_to + timedelta(days=1)))
    if search:
        stmt = stmt.where(_search_clause(search))
    rows = await session.scalars(stmt.limit(limit))
    return OrderListOut(
        items=[
            OrderSummaryOut(
                number=o.number,
                status=o.status,
                total=money.text(o.total, o.currency),
                currency=o.currency,
                source=o.source,
                needs_attention=o.needs_attention,
                attention_reason=o.attention_reason,
                created_at=o.created_at,
            )
            for o in rows
        ]
    )


async def order_sources(session: AsyncSession, store: Store) -> list[str]:
    """Every source the store's orders came from (`web-guest`, an intake source's key, ...)."""
    rows = await session.scalars(
        select(Order.source).where(Order.store_id == store.id).distinct().order_by(Order.source)
    )
    return list(rows)


async def operator_order(session: AsyncSession, store: Store, number: str) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    return operator_view(order, store)


async def record_shipment(
    session: AsyncSession, store: Store, number: str, data: ShipmentIn
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, SHIPPED, actor="operator", data={"carrier": data.carrier})
    shipment = Shipment(
        order_id=order.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        evidence=data.evidence,
        shipped_at=clock.now(),
    )
    session.add(shipment)
    order.shipments.append(shipment)
    await session.flush()
    return operator_view(order, store)


async def complete(session: AsyncSession, store: Store, number: str) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, COMPLETED, actor="operator")
    await session.flush()
    return operator_view(order, store)


async def cancel(session: AsyncSession, store: Store, number: str, data: CancelIn) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    await move(
        session, order, CANCELLED, actor="operator", data={"reason": data.reason} if data.reason else {}
    )
    await session.flush()
    return operator_view(order, store)


async def record_payment_evidence(
    session: AsyncSession, store: Store, number: str, data: PaymentEvidenceIn
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    instruction = active_instruction(order)
    if instruction is None:
        raise Conflict("This order has no payment instruction", field="payment_method")
    await record_payment(
        session,
        order,
        instruction,
        amount=data.amount,
        reference=data.reference,
        confirmations=data.confirmations,
        actor="operator",
    )
    return operator_view(order, store)


def refundable(order: Order) -> dict[str, Decimal]:
    """What can still be noted as refunded, by asset: the money received in each asset (late and
    overpayments included); in the order's currency, up to its total once it was paid (in any asset,
    or through its channel); less the refunds already noted. Needs instructions with transactions."""
    received: dict[str, Decimal] = {}
    for instruction in order.instructions:
        for t in instruction.transactions:
            if t.dropped_at is None:
                received[instruction.asset] = received.get(instruction.asset, Decimal(0)) + t.amount
    paid = any(received.values()) or order.status in (FUNDED, SHIPPED, COMPLETED) or not order.instructions
    caps = dict(received)
    caps[order.currency] = max(received.get(order.currency, Decimal(0)), order.total if paid else Decimal(0))
    for event in order.events:
        if event.type == "refund_noted" and event.data.get("asset") in caps:
            caps[event.data["asset"]] -= Decimal(str(event.data.get("amount", "0")))
    return {asset: max(cap, Decimal(0)) for asset, cap in caps.items()}


async def note_refund(
    session: AsyncSession, store: Store, number: str, data: RefundNoteIn
) -> OperatorOrderOut:
    """Note on the order a refund the operator made outside ordergate: an event, no state change."""
    order = await load_order(session, store, number=number)
    instruction = active_instruction(order)
    asset = data.asset or (instruction.asset if instruction is not None else order.currency)
    caps = refundable(order)
    if not any(caps.values()):
        raise Unprocessable(
            "Nothing was received for this order, so there is no refund to note", field="amount"
        )
    if asset not in caps:
        open_assets = ", ".join(sorted(a for a, cap in caps.items() if cap > 0))
        raise Unprocessable(
            f"Nothing was received in {asset} for this order; note the refund in {open_assets}", field="asset"
        )
    amount = money.quantize(data.amount, asset)
    if amount != data.amount:
        raise Unprocessable(f"{asset} amounts have at most {money.exponent(asset)} decimals", field="amount")
    if amount > caps[asset]:
        raise Unprocessable(
            f"At most {money.text(caps[asset], asset)} {asset} can still be noted as refunded on this order",
            field="amount",
        )
    record_event(
        session,
        order,
        "refund_noted",
        actor="operator",
        data={
            "amount": money.text(amount, asset),
            "asset": asset,
            "reference": data.reference,
            "note": data.note,
        },
    )
    await session.flush()
    return operator_view(order, store)


async def expire_due_orders(session: AsyncSession, *, limit: int = 200) -> int:
    """Worker sweep: expire unpaid orders whose payment window has run out (stock goes back)."""
    now = clock.now()
    ids = await instructions_due(session, now=now, limit=limit)
    expired = 0
    for order_id in ids:
        order = (
            (await session.execute(select(Order).where(Order.id == order_id).options(*_full())))  # type: ignore[arg-type]
            .unique()
            .scalar_one_or_none()
        )
        if order is not None and await expire_if_due(session, order, now=now):
            expired += 1
    await session.flush()
    return expired
