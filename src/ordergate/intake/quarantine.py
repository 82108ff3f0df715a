"""The operator's side of intake: the quarantine, corrections and replay, dismissal, and per-source
and per-rule counts (SKU mappings: intake.mappings)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from ordergate.audit.service import Actor
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.intake.flow import Result, Verdict, record_outcome, run
from ordergate.intake.models import (
    ACCEPTED,
    DISMISSED,
    DUPLICATE,
    HELD,
    PAYLOAD_STATUSES,
    QUARANTINED,
    REFUSED,
    SUPERSEDED,
    IntakeAttempt,
    IntakeIssue,
    IntakePayload,
    IntakeSource,
)
from ordergate.intake.rules import RULES, Issue
from ordergate.intake.schemas import (
    AttemptOut,
    BulkReplayIn,
    BulkReplayOut,
    DismissIn,
    IntakeResultOut,
    IntakeStatsOut,
    IssueOut,
    PayloadDetailOut,
    PayloadListOut,
    PayloadOut,
    ReplayIn,
    ReplayOut,
    RuleCountsOut,
    SourceCountsOut,
)
from ordergate.intake.sources import GUEST_SOURCE, store_source
from ordergate.orders.models import Order
from ordergate.stores.models import Store

OPEN = (QUARANTINED, HELD)
SETTLED = (ACCEPTED, DUPLICATE, SUPERSEDED)


def issue_out(issue: Issue | IntakeIssue) -> IssueOut:
    return IssueOut(
        field=issue.field,
        rule=issue.rule,
        owner=issue.owner,
        message=issue.message,
        severity=issue.severity,
    )


def result_out(result: Result) -> IntakeResultOut:
    """The answer to a delivery: held payloads are quarantined as far as the channel knows."""
    status = result.status
    return IntakeResultOut(
        intake_id=result.payload.public_id,
        status=status if status in (ACCEPTED, DUPLICATE) else QUARANTINED,
        order_id=result.order_number,
        issues=[issue_out(i) for i in result.issues],
        held=status == HELD,
        duplicate_of=result.duplicate_of,
    )


Original = aliased(IntakePayload)


def _listing() -> Any:
    return (
        select(IntakePayload, IntakeSource.key, IntakeSource.kind, Order.number, Original.public_id)
        .join(IntakeSource, IntakeSource.id == IntakePayload.source_id)
        .outerjoin(Order, Order.id == IntakePayload.order_id)
        .outerjoin(Original, Original.id == IntakePayload.duplicate_of_id)
        .options(selectinload(IntakePayload.issues))
    )


def _payload_out(row: Any) -> dict[str, Any]:
    payload, key, kind, number, original = row
    return {
        "intake_id": payload.public_id,
        "source": key,
        "kind": kind,
        "topic": payload.topic,
        "status": payload.status,
        "refusal": payload.refusal,
        "external_id": payload.external_id,
        "event": payload.event,
        "received_at": payload.received_at,
        "updated_at": payload.updated_at,
        "body_size": payload.body_size,
        "corrected": payload.corrected_body is not None,
        "attempts": payload.attempts,
        "order_id": number,
        "duplicate_of": original,
        "issues": [issue_out(i) for i in payload.issues],
    }


async def list_payloads(
    session: AsyncSession,
    store: Store,
    *,
    statuses: tuple[str, ...] | None,
    source: str | None,
    rule: str | None,
    limit: int,
) -> PayloadListOut:
    for status in statuses or ():
        if status not in PAYLOAD_STATUSES:
            raise Unprocessable(f"status must be one of {', '.join(PAYLOAD_STATUSES)}", field="status")
    if rule is not None and rule not in RULES:
        raise Unprocessable(f"no rule {rule!r}; rules: {', '.join(RULES)}", field="rule")
    stmt = _listing().where(IntakePayload.store_id == store.id)
    if statuses:
        stmt = stmt.where(IntakePayload.status.in_(statuses))
    if source is not None:
        stmt = stmt.where(IntakeSource.key == source)
    if rule is not None:
        stmt = stmt.where(
            IntakePayload.id.in_(select(IntakeIssue.payload_id).where(IntakeIssue.rule == rule))
        )
    rows = (await session.execute(stmt.order_by(IntakePayload.id.desc()).limit(limit))).all()
    return PayloadListOut(items=[PayloadOut(**_payload_out(r)) for r in rows])


async def _find(session: AsyncSession, store: Store, intake_id: str, *, lock: bool = False) -> IntakePayload:
    stmt = select(IntakePayload).where(
        IntakePayload.store_id == store.id, IntakePayload.public_id == intake_id
    )
    payload = await session.scalar(stmt.with_for_update() if lock else stmt)
    if payload is None:
        raise NotFound("No intake payload with this id in this store", field="intake_id")
    return payload


def _as_text(body: bytes | None) -> tuple[str | None, str | None]:
    if body is None:
        return None, None
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(body).decode()


async def payload_detail(session: AsyncSession, store: Store, intake_id: str) -> PayloadDetailOut:
    row = (
        await session.execute(
            _listing().where(IntakePayload.store_id == store.id, IntakePayload.public_id == intake_id)
        )
    ).first()
    if row is None:
        raise NotFound("No intake payload with this id in this store", field="intake_id")
    payload: IntakePayload = row[0]
    attempts = (
        await session.execute(
            select(IntakeAttempt, Order.number)
            .outerjoin(Order, Order.id == IntakeAttempt.order_id)
            .where(IntakeAttempt.payload_id == payload.id)
            .order_by(IntakeAttempt.id)
        )
    ).all()
    body_text, body_base64 = _as_text(payload.body)
    corrected_text, _ = _as_text(payload.corrected_body)
    return PayloadDetailOut(
        **_payload_out(row),
        headers=payload.headers,
        content_type=payload.content_type,
        body_text=body_text,
        body_base64=body_base64,
        corrected_text=corrected_text,
        history=[
            AttemptOut(
                at=a.created_at,
                actor=a.actor,
                outcome=a.outcome,
                corrected=a.corrected,
                note=a.note,
                order_id=number,
                issues=a.issues,
            )
            for a, number in attempts
        ],
    )


def _correction(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, ensure_ascii=False).encode()


async def _settled(session: AsyncSession, payload: IntakePayload) -> Result:
    issues = (
        await session.scalars(
            select(IntakeIssue).where(IntakeIssue.payload_id == payload.id).order_by(IntakeIssue.id)
        )
    ).all()
    number = (
        await session.scalar(select(Order.number).where(Order.id == payload.order_id))
        if payload.order_id
        else None
    )
    return Result(
        payload,
        payload.status,
        [Issue(i.rule, i.field, i.owner, i.severity, i.message) for i in issues],  # type: ignore[arg-type]
        order_number=number,
    )


async def replay(
    session: AsyncSession, store: Store, intake_id: str, data: ReplayIn, *, actor: Actor
) -> ReplayOut:
    """Run a payload through the flow again, corrected or not. Idempotent: a payload that is
    already settled (accepted, a duplicate, superseded) is not run again; the try is recorded."""
    payload = await _find(session, store, intake_id, lock=True)
    if payload.status == REFUSED:
        raise Conflict("A refused delivery kept no body to replay: ask the channel to send it again")
    corrected = "payload" in data.model_fields_set and data.payload is not None
    detail = {"corrected": corrected, "note": data.note}
    await actor.record(session, store_id=store.id, action="intake.replay", target=intake_id, detail=detail)
    if payload.status in SETTLED:
        if corrected:
            raise Conflict(f"This payload is {payload.status}; only unsettled payloads can be corrected")
        await record_outcome(
            session,
            payload,
            await session.get_one(IntakeSource, payload.source_id),
            Verdict(payload.status, await _current_issues(session, payload)),
            actor=actor.label,
            note=data.note or "replay of a settled payload: nothing done",
        )
        return ReplayOut(**result_out(await _settled(session, payload)).model_dump(), replayed=False)
    if corrected:
        payload.corrected_body = _correction(data.payload)
    source = await session.get_one(IntakeSource, payload.source_id)
    result = await run(
        session, payload, source, store, actor=actor.label, corrected=corrected, note=data.note
    )
    return ReplayOut(**result_out(result).model_dump(), replayed=True)


async def _current_issues(session: AsyncSession, payload: IntakePayload) -> list[Issue]:
    return (await _settled(session, payload)).issues


async def replay_many(
    session: AsyncSession, store: Store, data: BulkReplayIn, *, actor: Actor
) -> BulkReplayOut:
    """Replay what waits in quarantine (say, after a mapping was added), oldest first."""
    stmt = select(IntakePayload.public_id).where(
        IntakePayload.store_id == store.id, IntakePayload.status == QUARANTINED
    )
    if data.source is not None:
        source = await store_source(session, store, data.source)
        stmt = stmt.where(IntakePayload.source_id == source.id)
    if data.rule is not None:
        if data.rule not in RULES:
            raise Unprocessable(f"no rule {data.rule!r}", field="rule")
        stmt = stmt.where(
            IntakePayload.id.in_(select(IntakeIssue.payload_id).where(IntakeIssue.rule == data.rule))
        )
    ids = (await session.scalars(stmt.order_by(IntakePayload.id).limit(data.limit))).all()
    items = [await replay(session, store, i, ReplayIn(note="bulk replay"), actor=actor) for i in ids]
    return BulkReplayOut(
        replayed=len(items),
        accepted=sum(1 for i in items if i.status == ACCEPTED),
        quarantined=sum(1 for i in items if i.status == QUARANTINED),
        items=items,
    )


async def dismiss(
    session: AsyncSession, store: Store, intake_id: str, data: DismissIn, *, actor: Actor
) -> PayloadOut:
    """Set a payload aside for good (with the reason); it can still be replayed later."""
    payload = await _find(session, store, intake_id, lock=True)
    if payload.status not in OPEN:
        raise Conflict(f"Only quarantined or held payloads can be dismissed; this one is {payload.status}")
    source = await session.get_one(IntakeSource, payload.source_id)
    await record_outcome(session, payload, source, Verdict(DISMISSED, []), actor=actor.label, note=data.note)
    await actor.record(
        session, store_id=store.id, action="intake.dismiss", target=intake_id, detail={"note": data.note}
    )
    row = (
        await session.execute(
            _listing().where(IntakePayload.id == payload.id).execution_options(populate_existing=True)
        )
    ).one()
    return PayloadOut(**_payload_out(row))


async def stats(session: AsyncSession, store: Store) -> IntakeStatsOut:
    sources = (
        await session.scalars(
            select(IntakeSource).where(IntakeSource.store_id == store.id).order_by(IntakeSource.key)
        )
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for source_id, status, n in (
        await session.execute(
            select(IntakePayload.source_id, IntakePayload.status, func.count())
            .where(IntakePayload.store_id == store.id)
            .group_by(IntakePayload.source_id, IntakePayload.status)
        )
    ).all():
        counts.setdefault(source_id, {})[status] = n
    guest_orders = await session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.store_id == store.id, Order.source == GUEST_SOURCE)
    )
    is_open = case((IntakePayload.status.in_(OPEN), 1), else_=0)
    rules = (
        await session.execute(
            select(IntakeIssue.rule, IntakeIssue.owner, IntakeIssue.severity, func.sum(is_open), func.count())
            .join(IntakePayload, IntakePayload.id == IntakeIssue.payload_id)
            .where(IntakeIssue.store_id == store.id)
            .group_by(IntakeIssue.rule, IntakeIssue.owner, IntakeIssue.severity)
            .order_by(IntakeIssue.rule, IntakeIssue.owner)
        )
    ).all()
    return IntakeStatsOut(
        sources=[
            SourceCountsOut(
                source=GUEST_SOURCE,
                kind="web",
                owner="checkout",
                enabled=True,
                counts={ACCEPTED: guest_orders or 0},
            ),
            *(
                SourceCountsOut(
                    source=s.key, kind=s.kind, owner=s.owner, enabled=s.enabled, counts=counts.get(s.id, {})
                )
                for s in sources
            ),
        ],
        rules=[
            RuleCountsOut(rule=rule, owner=owner, severity=severity, open=int(open_ or 0), total=total)
            for rule, owner, severity, open_, total in rules
        ],
    )
