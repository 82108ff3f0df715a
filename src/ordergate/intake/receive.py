"""Receiving a payload: verify a delivery, refuse it (recorded without its body), or store it
first and hand it to the intake flow (intake.flow). Repeats of a delivery, an event or a body
are stored as duplicates of the first."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.errors import Unauthorized
from ordergate.intake.adapters import adapter_for
from ordergate.intake.adapters.base import BadSignature, Envelope
from ordergate.intake.flow import PAYLOADS, Result, Verdict, record_outcome, run
from ordergate.intake.models import DUPLICATE, QUARANTINED, REFUSED, IntakePayload, IntakeSource
from ordergate.intake.refusals import RefusalsThrottled, may_record
from ordergate.intake.sources import source_secret
from ordergate.orders.models import Order
from ordergate.settings import Settings
from ordergate.stores.models import Store

log = structlog.get_logger("ordergate.intake")


class SignatureRefused(Unauthorized):
    type, title = "bad-signature", "The delivery's signature could not be verified"


@dataclass(frozen=True)
class Refusal:
    error: SignatureRefused | RefusalsThrottled


PING = "ping"


def new_intake_id() -> str:
    return "in_" + secrets.token_hex(10)


async def refuse(
    session: AsyncSession,
    source: IntakeSource,
    *,
    reason: str,
    size: int,
    envelope: Envelope | None = None,
    body: bytes | None = None,
    content_type: str = "",
) -> IntakePayload | None:
    """Record that a delivery was refused and why; never its body (it is not trusted, or too big).
    None: counted, but over this source's rate of stored refusals."""
    if not await may_record(session, source, reason):
        log.warning("intake_refused_unrecorded", source=source.key, reason=reason, size=size)
        return None
    envelope = envelope or Envelope()
    payload = IntakePayload(
        public_id=new_intake_id(),
        store_id=source.store_id,
        source_id=source.id,
        received_at=clock.now(),
        topic=envelope.topic,
        headers={
            **envelope.headers,
            **({"delivery-id": envelope.delivery_id} if envelope.delivery_id else {}),
        },
        content_type=content_type[:100],
        body=None,
        body_size=size,
        fingerprint=hashlib.sha256(body).hexdigest() if body is not None else None,
        status=REFUSED,
        refusal=reason,
        attempts=0,
        updated_at=clock.now(),
    )
    session.add(payload)
    await session.flush()
    PAYLOADS.labels(source.key, REFUSED).inc()
    log.warning("intake_refused", source=source.key, intake_id=payload.public_id, reason=reason, size=size)
    return payload


async def refuse_delivery(
    session: AsyncSession, source: IntakeSource, headers: dict[str, str], *, reason: str, size: int
) -> IntakePayload | None:
    """A delivery refused before its body was read (too large): what its headers said, and why."""
    envelope = adapter_for(source.kind).envelope(headers)
    return await refuse(
        session,
        source,
        reason=reason,
        size=size,
        envelope=envelope,
        content_type=headers.get("content-type", ""),
    )


async def deliver(
    session: AsyncSession,
    source: IntakeSource,
    store: Store,
    *,
    headers: dict[str, str],
    body: bytes,
    content_type: str,
    settings: Settings,
) -> Result | Refusal | str:
    """One HTTP delivery from a channel: a ping, a refusal, or a payload taken through the flow."""
    adapter = adapter_for(source.kind)
    if adapter.is_ping(headers, body):
        return PING
    envelope = adapter.envelope(headers)
    secret = source_secret(source, settings)
    bad = (
        adapter.verify(secret, headers, body, now=clock.now())
        if secret
        else BadSignature("source", "no_secret", "no signing secret is configured for this source")
    )
    if bad is not None:
        recorded = await refuse(
            session,
            source,
            reason=bad.reason,
            size=len(body),
            envelope=envelope,
            body=body,
            content_type=content_type,
        )
        if recorded is None:
            return Refusal(RefusalsThrottled())
        return Refusal(SignatureRefused(bad.message, field=bad.header))
    return await take(session, source, store, envelope=envelope, body=body, content_type=content_type)


async def _original(
    session: AsyncSession, source: IntakeSource, envelope: Envelope, fingerprint: str
) -> IntakePayload | None:
    """An earlier payload this one repeats: same delivery, same event, or the very same body."""
    match = [IntakePayload.fingerprint == fingerprint]
    if envelope.delivery_id:
        match.append(IntakePayload.delivery_id == envelope.delivery_key(fingerprint))
    if envelope.event_id:
        # One event under one topic: several subscriptions to it deliver it more than once
        # (Shopify, "Ignore duplicate webhooks"); another topic of the same action is news.
        match.append(and_(IntakePayload.event_id == envelope.event_id, IntakePayload.topic == envelope.topic))
    return await session.scalar(
        select(IntakePayload)
        .where(
            IntakePayload.source_id == source.id,
            IntakePayload.status.not_in((REFUSED, DUPLICATE)),
            or_(*match),
        )
        .order_by(IntakePayload.id)
        .limit(1)
    )


def _payload(
    source: IntakeSource, envelope: Envelope, body: bytes, content_type: str, fingerprint: str, original: Any
) -> IntakePayload:
    now = clock.now()
    return IntakePayload(
        public_id=new_intake_id(),
        store_id=source.store_id,
        source_id=source.id,
        received_at=now,
        topic=envelope.topic,
        # A repeat keeps no delivery id: the first delivery holds it (and its unique constraint).
        delivery_id=None if original else envelope.delivery_key(fingerprint),
        event_id=None if original else envelope.event_id,
        fingerprint=fingerprint,
        headers=envelope.headers,
        content_type=content_type[:100],
        body=body,
        body_size=len(body),
        status=DUPLICATE if original else QUARANTINED,  # quarantined until the flow says otherwise
        duplicate_of_id=original.id if original else None,
        order_id=original.order_id if original else None,
        attempts=0,
        updated_at=now,
    )


async def take(
    session: AsyncSession,
    source: IntakeSource,
    store: Store,
    *,
    envelope: Envelope,
    body: bytes,
    content_type: str,
    actor: str = "channel",
) -> Result:
    """A verified payload (or a CSV order from the CLI): stored first, then taken through the flow."""
    fingerprint = hashlib.sha256(envelope.topic.encode() + b"\n" + body).hexdigest()
    original = await _original(session, source, envelope, fingerprint)
    payload = _payload(source, envelope, body, content_type, fingerprint, original)
    if payload.delivery_id:
        try:
            async with session.begin_nested():
                session.add(payload)
                await session.flush()
        except IntegrityError:
            # The same delivery arrived twice at once and the other copy was stored first.
            log.info("intake_concurrent_repeat", source=source.key, delivery_id=envelope.delivery_id)
            original = await _original(session, source, envelope, fingerprint)
            payload = _payload(source, envelope, body, content_type, fingerprint, original)
            session.add(payload)
    else:
        session.add(payload)
    await session.flush()
    if original is not None:
        await record_outcome(session, payload, source, Verdict(DUPLICATE, []), actor=actor)
        number = await _order_number(session, original.order_id)
        return Result(payload, DUPLICATE, [], order_number=number, duplicate_of=original.public_id)
    return await run(session, payload, source, store, actor=actor)


async def _order_number(session: AsyncSession, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    number: str | None = await session.scalar(select(Order.number).where(Order.id == order_id))
    return number
