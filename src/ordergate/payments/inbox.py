"""The inbox of provider callbacks: verified, stored, then acted on; every event kept.

A callback whose signature matches no configured method is 401 and changes nothing. A verified one
is stored unique on (provider, event id) before anything else, so a redelivery finds its row and
changes nothing. Acting on it runs in a savepoint: if that fails, the row stays `failed` and is
tried again (by the provider's redelivery or the worker). An event about an instruction we do not
know is kept as `unmatched` and shown to the store's operator."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock, money
from ordergate.errors import NotFound
from ordergate.orders.models import Order
from ordergate.orders.state import record_event
from ordergate.payments.models import PaymentInstruction, PaymentWebhookEvent
from ordergate.payments.protocol import ProviderEvent, RemoteProvider, SignatureInvalid
from ordergate.payments.providers import remote_provider
from ordergate.payments.refund_updates import apply_refund_update
from ordergate.payments.service import flag, order_for_payment, record_payment, settle, standing
from ordergate.stores.models import PaymentMethod

log = structlog.get_logger("ordergate.payments")
RETRYABLE = ("received", "failed")
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class InboxOutcome:
    status: str  # processed | ignored | unmatched | duplicate | failed | invalid
    event_id: str
    http_status: int


async def receive_callback(
    session: AsyncSession, *, provider_kind: str, headers: Mapping[str, str], body: bytes
) -> InboxOutcome:
    provider = remote_provider(provider_kind)
    if provider is None:
        raise NotFound("No payment provider by that name takes callbacks", field="provider")
    methods = (await session.scalars(select(PaymentMethod).where(PaymentMethod.kind == provider_kind))).all()
    now = clock.now()
    method = next((m for m in methods if provider.verify_callback(m.config, headers, body, now)), None)
    if method is None:
        log.warning("payment_callback_rejected", provider=provider_kind, size=len(body))
        raise SignatureInvalid(field="signature")
    try:
        event = provider.parse_callback(body)
    except ValueError as exc:
        # Signed by the provider but not an event we can read: keep it for a person to look at.
        event_id = "body-sha256:" + hashlib.sha256(body).hexdigest()
        row, _ = await _store(session, provider_kind, event_id, "unreadable", method, None, body)
        row.status, row.detail = "invalid", str(exc)[:500]
        log.warning("payment_callback_unreadable", provider=provider_kind, detail=str(exc)[:200])
        return InboxOutcome("invalid", event_id, 400)
    row, fresh = await _store(
        session, provider_kind, event.event_id, event.type, method, event.provider_ref, body
    )
    if not fresh and row.status not in RETRYABLE:
        return InboxOutcome("duplicate", event.event_id, 200)
    status = await process_event(session, row, provider, event)
    # A failure to act is kept (and retried); asking the provider to redeliver helps too.
    return InboxOutcome(status, event.event_id, 503 if status == "failed" else 200)


async def _store(
    session: AsyncSession,
    provider_kind: str,
    event_id: str,
    event_type: str,
    method: PaymentMethod,
    provider_ref: str | None,
    body: bytes,
) -> tuple[PaymentWebhookEvent, bool]:
    existing = await session.scalar(
        select(PaymentWebhookEvent).where(
            PaymentWebhookEvent.provider == provider_kind, PaymentWebhookEvent.event_id == event_id
        )
    )
    if existing is not None:
        return existing, False
    row = PaymentWebhookEvent(
        provider=provider_kind,
        event_id=event_id[:200],
        event_type=event_type[:100],
        store_id=method.store_id,
        method=method.key,
        provider_ref=(provider_ref or "")[:200] or None,
        status="received",
        payload=body.decode("utf-8", errors="replace"),
        attempts=0,
        received_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same event delivered twice at once: the other delivery stored it
        again = await session.scalar(
            select(PaymentWebhookEvent).where(
                PaymentWebhookEvent.provider == provider_kind, PaymentWebhookEvent.event_id == event_id
            )
        )
        assert again is not None
        return again, False
    return row, True


async def process_event(
    session: AsyncSession,
    row: PaymentWebhookEvent,
    provider: RemoteProvider,
    event: ProviderEvent | None = None,
) -> str:
    """Act on one stored event; returns its new status."""
    now = clock.now()
    row.attempts += 1
    try:
        event = event or provider.parse_callback(row.payload.encode())
        async with session.begin_nested():
            status, detail, order_id = await _apply(session, row, event, now)
    except Exception as exc:  # noqa: BLE001 - a race (the order moved meanwhile) or a bug: kept, tried again
        row.status = "failed"
        row.detail = f"{type(exc).__name__}: {exc}"[:500]
        log.warning(
            "payment_callback_failed", provider=row.provider, event_id=row.event_id, error=type(exc).__name__
        )
        return "failed"
    row.status, row.detail, row.order_id, row.processed_at = status, detail, order_id, now
    if status == "unmatched":
        log.warning(
            "payment_callback_unmatched", provider=row.provider, event_id=row.event_id, ref=row.provider_ref
        )
    return status


async def _find_instruction(
    session: AsyncSession, row: PaymentWebhookEvent, event: ProviderEvent
) -> PaymentInstruction | None:
    conditions = []
    if event.provider_ref:
        conditions.append(PaymentInstruction.provider_ref == event.provider_ref)
    if event.instruction_hint is not None:
        # Our id in the provider's metadata: finds an invoice whose answer never reached us.
        conditions.append(PaymentInstruction.id == event.instruction_hint)
    if not conditions:
        return None
    rows = (
        await session.scalars(
            select(PaymentInstruction)
            .join(Order, Order.id == PaymentInstruction.order_id)
            .where(
                PaymentInstruction.kind == row.provider,
                Order.store_id == row.store_id,
                PaymentInstruction.method == row.method,
                or_(*conditions),
            )
        )
    ).all()
    by_ref = [i for i in rows if event.provider_ref and i.provider_ref == event.provider_ref]
    candidates = by_ref or list(rows)
    return candidates[0] if candidates else None


async def _apply(
    session: AsyncSession, row: PaymentWebhookEvent, event: ProviderEvent, now: datetime
) -> tuple[str, str | None, int | None]:
    if not event.actionable:
        return "ignored", None, None
    if event.refund is not None:
        return await apply_refund_update(
            session, store_id=row.store_id, kind=row.provider, news=event.refund, actor=row.provider
        )
    found = await _find_instruction(session, row, event)
    if found is None:
        return "unmatched", f"no order of this store has {event.provider_ref or 'this payment'}", None
    order = await order_for_payment(session, found.order_id)
    assert order is not None
    instruction = next(i for i in order.instructions if i.id == found.id)
    actor = row.provider
    notes: list[str] = []
    if event.status:
        instruction.provider_status = event.status[:32]
        record_event(
            session, order, "provider_status", actor=actor, data={"status": event.status, "event": event.type}
        )
    for evidence in event.evidence:
        if evidence.asset is not None and evidence.asset != instruction.asset.upper():
            notes.append(f"{evidence.asset} payment to a {instruction.asset} instruction: not counted")
            continue
        if not evidence.valid:
            record_event(
                session, order, "payment_invalid", actor=actor, data={"reference": evidence.reference}
            )
            notes.append(f"{row.provider} reports payment {evidence.reference[:40]} invalid")
            continue
        await record_payment(
            session,
            order,
            instruction,
            amount=money.quantize(evidence.amount, instruction.asset),
            reference=evidence.reference,
            confirmations=evidence.confirmations,
            actor=actor,
            in_time=evidence.in_time,
        )
    if event.settled:
        await _settled(
            session, order, instruction, marked=event.marked_paid, actor=actor, notes=notes, now=now
        )
    if event.note:
        notes.append(event.note)
    for note in notes:
        flag(order, note, session=session)
    await settle(session, order, instruction, actor=actor, now=now)
    await session.flush()
    return "processed", "; ".join(notes)[:500] or None, order.id


async def _settled(
    session: AsyncSession,
    order: Order,
    instruction: PaymentInstruction,
    *,
    marked: bool,
    actor: str,
    notes: list[str],
    now: datetime,
) -> None:
    """The provider says the invoice is paid and final: every payment seen is confirmed."""
    for tx in list(instruction.transactions):
        if tx.dropped_at is None and not tx.late and tx.confirmations < instruction.required_confirmations:
            await record_payment(
                session,
                order,
                instruction,
                amount=None,
                reference=tx.reference,
                confirmations=instruction.required_confirmations,
                actor=actor,
            )
    seen = standing(instruction, order_status=order.status, now=now)
    if seen.remaining <= 0:
        return
    if marked:  # settled by the operator in BTCPay: their decision covers what is still due
        await record_payment(
            session,
            order,
            instruction,
            amount=seen.remaining,
            reference=f"{instruction.provider_ref}:marked-settled",
            confirmations=instruction.required_confirmations,
            actor=actor,
            in_time=True,
        )
        return
    notes.append(
        f"{actor} reports the invoice settled but only {seen.received} of {instruction.amount} "
        f"{instruction.asset} was seen here: check it"
    )


async def retry_failed(maker: async_sessionmaker[AsyncSession], *, limit: int = 50) -> int:
    """Worker: act again on stored events that failed (or were stored and never acted on)."""
    async with maker() as session, session.begin():
        ids = list(
            await session.scalars(
                select(PaymentWebhookEvent.id)
                .where(PaymentWebhookEvent.status.in_(RETRYABLE), PaymentWebhookEvent.attempts < MAX_ATTEMPTS)
                .order_by(PaymentWebhookEvent.id)
                .limit(limit)
            )
        )
    done = 0
    for event_row_id in ids:
        async with maker() as session, session.begin():
            row = await session.get(PaymentWebhookEvent, event_row_id, with_for_update=True)
            provider = remote_provider(row.provider) if row is not None else None
            if row is None or provider is None or row.status not in RETRYABLE:
                continue
            if await process_event(session, row, provider) != "failed":
                done += 1
    return done
