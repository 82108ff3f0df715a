"""Delivering the outbox: claim due messages, render and send them outside any transaction, record
the outcome. At least once: a claim is a lease, and a worker killed mid-delivery leaves its
messages to be claimed again when the lease runs out; a message recorded as sent is never sent again."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.email import EmailSender, MailDirSender, SmtpSender, build_email, parse_smtp_url
from ordergate.notifications.errors import NothingToSend, Undeliverable
from ordergate.notifications.models import DEAD, EMAIL, PENDING, SENT, SKIPPED, OutboxMessage
from ordergate.notifications.render import Rendered, render
from ordergate.notifications.service import queue_payment_reminders
from ordergate.notifications.sms import SmsDirSender, SmsSender, TwilioSender, parse_sms_url
from ordergate.observability import SECRET_VALUE
from ordergate.ratelimit import prune
from ordergate.settings import Settings
from ordergate.sql import rowcount

log = structlog.get_logger("ordergate.outbox")
OUTCOMES = Counter(
    "ordergate_outbox_deliveries", "Outbox delivery attempts by outcome", ["channel", "kind", "outcome"]
)
CONCURRENCY = 8
# A claim covers what can be sent at once: every message of a batch starts sending right away,
# well inside its lease, so no other worker takes it over while it is being sent.
BATCH = CONCURRENCY
MAX_DELAY_SECONDS = 3600.0
_random = secrets.SystemRandom()


@dataclass
class DeliveryResult:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    dead: int = 0
    reminders_queued: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class Channels:
    email: EmailSender
    sms: SmsSender
    mail_from: str


def mail_from(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.base_url).hostname or ""
    # An IP address or a bare name is no mail domain.
    return f"no-reply@{host}" if re.search(r"[a-z]", host, re.I) and "." in host else "no-reply@localhost"


def _secret(value: Any) -> str | None:
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def check_channels(settings: Settings) -> None:
    """Raise ValueError (naming the setting, never its value) for an SMTP or SMS URL that cannot work."""
    smtp_url, sms_url = _secret(settings.smtp_url), _secret(settings.sms_url)
    if smtp_url:
        parse_smtp_url(smtp_url)
    if sms_url:
        parse_sms_url(sms_url)


@asynccontextmanager
async def open_channels(settings: Settings) -> AsyncIterator[Channels]:
    """The configured channels, or the var_dir files without them. Raises ValueError (naming the
    setting, never its value) for a URL that cannot be used."""
    smtp_url, sms_url = _secret(settings.smtp_url), _secret(settings.sms_url)
    email: EmailSender = (
        SmtpSender(parse_smtp_url(smtp_url)) if smtp_url else MailDirSender(settings.var_dir / "mail")
    )
    provider = parse_sms_url(sms_url) if sms_url else None
    async with httpx.AsyncClient(follow_redirects=False) as client:
        sms: SmsSender = (
            TwilioSender(provider, client) if provider else SmsDirSender(settings.var_dir / "sms")
        )
        yield Channels(email=email, sms=sms, mail_from=mail_from(settings))


def retry_delay(attempts: int, *, base: float) -> float:
    """Exponential backoff with jitter: base, 2 x base, 4 x base ... (capped), each between half
    and all of that, so workers that failed together do not retry together."""
    delay = min(MAX_DELAY_SECONDS, base * 2 ** max(attempts - 1, 0))
    return _random.uniform(delay / 2, delay)


def scrub(text: str, hidden: tuple[str, ...] | list[str], *, shaped: bool = True) -> str:
    """A text safe to store and log: none of the `hidden` values (tokens, codes, credentials) and,
    with `shaped`, nothing shaped like one (an error text can quote what we do not know about)."""
    for value in hidden:
        if value:
            text = text.replace(value, "[redacted]")
    return (SECRET_VALUE.sub("[redacted]", text) if shaped else text)[:500]


def _describe(exc: BaseException) -> str:
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


async def claim_due(
    maker: async_sessionmaker[AsyncSession], *, limit: int, lease: timedelta
) -> tuple[str, list[int]]:
    """Take up to `limit` due messages for `lease`. Several workers take different messages:
    SKIP LOCKED on PostgreSQL; on SQLite writers queue, and the guarded UPDATE decides."""
    now = clock.now()
    claim = secrets.token_hex(16)
    async with maker() as session, session.begin():
        ids = list(
            await session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return claim, []
        claimed = await session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.state == PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(claim=claim, attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return claim, sorted(claimed)


async def _record(
    maker: async_sessionmaker[AsyncSession], message_id: int, claim: str, **values: Any
) -> bool:
    """Write the outcome, if this worker still holds the claim."""
    async with maker() as session, session.begin():
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claim == claim)
            .values(claim=None, **values)
            .execution_options(synchronize_session=False)
        )
    return bool(rowcount(result))


async def _send(message: OutboxMessage, rendered: Rendered, channels: Channels) -> str:
    name = f"{message.created_at:%Y%m%d-%H%M%S}-{message.id}-{message.kind}"
    if message.channel == EMAIL:
        domain = channels.mail_from.rpartition("@")[2] or "localhost"
        digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:16]
        email = build_email(
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            sender=channels.mail_from,
            sender_name=rendered.sender_name,
            recipient=message.recipient,
            message_id=f"<og.{message.id}.{digest}@{domain}>",
        )
        return await channels.email.send(email, name=name)
    return await channels.sms.send(
        to=message.recipient, body=rendered.text, sender_name=rendered.sender_name, name=name
    )


async def deliver_message(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    channels: Channels,
    message_id: int,
    claim: str,
) -> str:
    """Render, send, record. Returns the outcome: sent, skipped, retried or dead ("" if the claim
    was lost to another worker)."""
    hidden: list[str] = [v for v in (_secret(settings.smtp_url), _secret(settings.sms_url)) if v]
    rendered: Rendered | None = None
    skipped, failure, permanent = "", "", False
    async with maker() as session:  # closed before sending: no transaction is open while we talk out
        message = await session.get(OutboxMessage, message_id)
        if message is None or message.claim != claim:
            return ""
        try:
            rendered = await render(session, message, settings)
        except NothingToSend as exc:
            skipped = str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken seal or template: retried, then visible as dead
            failure = _describe(exc)
    if skipped:
        await _record(maker, message_id, claim, state=SKIPPED, payload=None, sealed=None, last_error=skipped)
        _count(message, "skipped")
        log.info("outbox_skipped", message=message_id, kind=message.kind, reason=skipped)
        return "skipped"
    if rendered is not None:
        hidden += rendered.secrets
        try:
            # However slow the server, a send ends well inside the lease: no other worker can
            # take the message over while it is still being sent.
            async with asyncio.timeout(settings.outbox_lease_seconds / 2):
                reference = await _send(message, rendered, channels)
        except Undeliverable as exc:
            failure, permanent = _describe(exc), True
        except Exception as exc:  # noqa: BLE001 - network, timeouts, answers that may pass: retried with backoff
            failure = _describe(exc)
        else:
            # The facts and the sealed secret go; what stays is who, what kind, when, and the outcome.
            kept = await _record(
                maker,
                message_id,
                claim,
                state=SENT,
                sent_at=clock.now(),
                payload=None,
                sealed=None,
                last_error=None,
                provider_ref=scrub(reference, hidden, shaped=False)[:200],
            )
            if not kept:
                log.warning("outbox_claim_lost", message=message_id, kind=message.kind)
            _count(message, "sent")
            log.info("outbox_sent", message=message_id, kind=message.kind, channel=message.channel)
            return "sent"
    error = scrub(failure, hidden)
    facts = {"message": message_id, "kind": message.kind, "channel": message.channel, "error": error}
    if permanent or message.attempts >= settings.outbox_max_attempts:
        await _record(maker, message_id, claim, state=DEAD, last_error=error)
        _count(message, "dead")
        log.error("outbox_dead", attempts=message.attempts, **facts)
        return "dead"
    delay = retry_delay(message.attempts, base=settings.outbox_retry_seconds)
    await _record(
        maker,
        message_id,
        claim,
        state=PENDING,
        next_attempt_at=clock.now() + timedelta(seconds=delay),
        last_error=error,
    )
    _count(message, "retried")
    log.warning("outbox_retry", attempts=message.attempts, retry_in_s=round(delay), **facts)
    return "retried"


def _count(message: OutboxMessage, outcome: str) -> None:
    OUTCOMES.labels(message.channel, message.kind, outcome).inc()


async def deliver_due(
    maker: async_sessionmaker[AsyncSession], settings: Settings, channels: Channels, *, limit: int = BATCH
) -> DeliveryResult:
    """Deliver every message due now, a batch at a time, a few at once."""
    result = DeliveryResult()
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(message_id: int, claim: str) -> None:
        async with gate:
            outcome = await deliver_message(maker, settings, channels, message_id, claim)
        if outcome:
            result.add(outcome)

    while True:
        claim, ids = await claim_due(maker, limit=limit, lease=lease)
        await asyncio.gather(*(one(i, claim) for i in ids))
        if len(ids) < limit:
            return result


async def outbox_pass(maker: async_sessionmaker[AsyncSession], settings: Settings) -> DeliveryResult:
    """The worker's notification duty: queue due payment reminders, prune rate-limit counters,
    deliver what is due."""
    reminders = 0
    async with maker() as session, session.begin():
        if settings.payment_reminder_seconds:
            reminders = await queue_payment_reminders(
                session, now=clock.now(), lead=timedelta(seconds=settings.payment_reminder_seconds)
            )
        await prune(session)
    async with open_channels(settings) as channels:
        result = await deliver_due(maker, settings, channels)
    result.reminders_queued = reminders
    return result
