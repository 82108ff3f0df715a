"""The intake flow, the same for every source, for a payload already stored (intake.receive): map
it to the canonical order, check it, then accept it (one order model) or quarantine it with its
reasons.

One payload is one transaction (the caller's). The processing runs in a savepoint: whatever goes
wrong there, even a bug, is rolled back to it and the payload stays, quarantined with the reason,
ready to be replayed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.catalog.service import products_by_sku
from ordergate.errors import IllegalTransition
from ordergate.intake import apply
from ordergate.intake.adapters import adapter_for
from ordergate.intake.models import (
    ACCEPTED,
    HELD,
    QUARANTINED,
    SUPERSEDED,
    IntakeAttempt,
    IntakeIssue,
    IntakePayload,
    IntakeSource,
)
from ordergate.intake.rules import (
    Finding,
    Issue,
    blocking,
    check_completeness,
    check_contact,
    check_currency,
    check_money,
    check_test_order,
    resolve,
    resolve_skus,
    severity_for,
)
from ordergate.intake.schemas import CanonicalOrder
from ordergate.orders.models import Order
from ordergate.stores.models import Store

log = structlog.get_logger("ordergate.intake")
PAYLOADS = Counter("ordergate_intake_payloads", "Intake payloads by source and outcome", ["source", "status"])
ISSUES = Counter("ordergate_intake_issues", "Quality-rule issues raised by intake", ["rule", "severity"])


@dataclass
class Verdict:
    status: str
    issues: list[Issue]
    order: Order | None = None
    canonical: CanonicalOrder | None = None
    external_id: str | None = None  # when there is no canonical order to read it from


class _Rollback(Exception):
    """Leaves the savepoint with a verdict: what was written for this payload is undone."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict


@dataclass
class Result:
    payload: IntakePayload
    status: str
    issues: list[Issue]
    order_number: str | None = None
    duplicate_of: str | None = None
    released: list[Result] = field(default_factory=list)  # held updates applied after this create


def _issues_of(source: IntakeSource, findings: list[Finding]) -> list[Issue]:
    return resolve(
        findings, owner=source.owner, rule_owners=source.rule_owners, rule_severity=source.rule_severity
    )


async def run(
    session: AsyncSession,
    payload: IntakePayload,
    source: IntakeSource,
    store: Store,
    *,
    actor: str,
    corrected: bool = False,
    note: str = "",
) -> Result:
    """Map, check, and accept or quarantine a stored payload; record the attempt and its outcome."""
    try:
        async with session.begin_nested():
            verdict = await _process(session, payload, source, store)
    except _Rollback as rollback:
        verdict = rollback.verdict
    except Exception as exc:  # noqa: BLE001 - a bug or a hiccup: the payload waits in quarantine, never lost
        log.error("intake_failed", source=source.key, intake_id=payload.public_id, error=type(exc).__name__)
        message = f"processing failed ({type(exc).__name__}); the payload is kept: replay it once fixed"
        verdict = Verdict(QUARANTINED, [Issue("intake.error", "body", source.owner, "block", message)])
    await record_outcome(session, payload, source, verdict, actor=actor, corrected=corrected, note=note)
    result = Result(
        payload, verdict.status, verdict.issues, order_number=verdict.order.number if verdict.order else None
    )
    if (
        verdict.status == ACCEPTED
        and verdict.canonical
        and verdict.canonical.event == "create"
        and verdict.order
    ):
        result.released = await _release_held(session, payload, source, store)
    return result


async def _process(
    session: AsyncSession, payload: IntakePayload, source: IntakeSource, store: Store
) -> Verdict:
    adapter = adapter_for(source.kind)
    body = payload.corrected_body if payload.corrected_body is not None else payload.body
    mapped = adapter.map(payload.topic, body or b"", source.settings)
    if mapped.order is None:
        return Verdict(QUARANTINED, _issues_of(source, mapped.findings), external_id=mapped.external_id)
    canonical = mapped.order
    if adapter.marks_test(payload.headers) and not canonical.test:
        canonical = canonical.model_copy(update={"test": True})
    findings = [
        *mapped.findings,
        *adapter.store_check(payload.headers, canonical, source.settings, store.slug),
        *check_test_order(canonical),
    ]
    if not canonical.external_id:
        findings.append(Finding("completeness.required", "external_id", "the channel's order id is missing"))
    issues = _issues_of(source, findings)
    if blocking(issues) or not canonical.external_id:
        return Verdict(QUARANTINED, issues, canonical=canonical)

    await apply.lock_external_order(session, source, canonical.external_id)
    existing = await apply.find_order(session, store, source, canonical.external_id)
    data = {"intake_id": payload.public_id, "external_id": canonical.external_id}
    if existing is not None:
        return await _update(session, payload, source, existing, canonical, issues, data)
    if canonical.event != "create":
        hold = Finding(
            "state.awaiting_create",
            "external_id",
            f"no order {canonical.external_id} from {source.key} yet: "
            "held, and applied when its create arrives",
        )
        return Verdict(HELD, [*issues, *_issues_of(source, [hold])], canonical=canonical)
    return await _create(session, source, store, canonical, issues, data)


async def _update(
    session: AsyncSession,
    payload: IntakePayload,
    source: IntakeSource,
    order: Order,
    canonical: CanonicalOrder,
    issues: list[Issue],
    data: dict[str, Any],
) -> Verdict:
    assert canonical.external_id
    last = await apply.last_applied_at(session, source, canonical.external_id, other_than=payload.id)
    if canonical.occurred_at and last and canonical.occurred_at < last:
        stale = Finding(
            "state.stale",
            "occurred_at",
            f"this update is from {canonical.occurred_at.isoformat()}, older than the last one applied "
            f"({last.isoformat()}): nothing was changed",
        )
        return Verdict(ACCEPTED, [*issues, *_issues_of(source, [stale])], order=order, canonical=canonical)
    try:
        finding = await apply.update_order(session, order, canonical, source=source, data=data)
    except IllegalTransition as exc:  # another request moved the order first
        finding = Finding("state.transition", "status", exc.detail)
    if finding is not None:
        raise _Rollback(Verdict(QUARANTINED, [*issues, *_issues_of(source, [finding])], canonical=canonical))
    return Verdict(ACCEPTED, issues, order=order, canonical=canonical)


async def _create(
    session: AsyncSession,
    source: IntakeSource,
    store: Store,
    canonical: CanonicalOrder,
    issues: list[Issue],
    data: dict[str, Any],
) -> Verdict:
    findings = check_completeness(canonical, delivery_fields=store.delivery_fields)
    findings += check_currency(canonical, store_currency=store.currency)
    contact, contact_findings = check_contact(canonical)
    findings += contact_findings + check_money(canonical)
    keys = {k for line in canonical.lines for k in (line.sku, line.external_ref) if k}
    mappings = await apply.mappings_for(session, source, keys)
    products = await products_by_sku(session, store, keys | set(mappings.values()))
    resolved, sku_findings = resolve_skus(canonical, catalog=products, mappings=mappings, source=source.key)
    issues = issues + _issues_of(source, findings + sku_findings)
    if blocking(issues):
        return Verdict(QUARANTINED, issues, canonical=canonical)
    order, short = await apply.create_order(
        session,
        store=store,
        source=source,
        canonical=canonical,
        resolved=resolved,
        products=products,
        contact=contact,
        hold_stock=severity_for("stock.available", source.rule_severity) == "block",
        attention=[i.rule for i in issues if i.severity == "warn" and i.rule != "channel.test_order"],
        data=data,
    )
    issues += _issues_of(source, short)
    if order is None:
        raise _Rollback(Verdict(QUARANTINED, issues, canonical=canonical))
    return Verdict(ACCEPTED, issues, order=order, canonical=canonical)


async def record_outcome(
    session: AsyncSession,
    payload: IntakePayload,
    source: IntakeSource,
    verdict: Verdict,
    *,
    actor: str,
    corrected: bool = False,
    note: str = "",
) -> None:
    now = clock.now()
    if payload.attempts:
        await session.execute(delete(IntakeIssue).where(IntakeIssue.payload_id == payload.id))
    payload.status = verdict.status
    payload.attempts += 1
    payload.updated_at = now
    if verdict.order is not None:
        payload.order_id = verdict.order.id
    if verdict.external_id is not None:
        payload.external_id = verdict.external_id
    if verdict.canonical is not None:
        payload.external_id = verdict.canonical.external_id
        payload.event = verdict.canonical.event
        payload.occurred_at = verdict.canonical.occurred_at
    session.add_all(
        IntakeIssue(
            payload_id=payload.id,
            store_id=payload.store_id,
            rule=i.rule,
            field=i.field[:200],
            owner=i.owner,
            severity=i.severity,
            message=i.message,
            created_at=now,
        )
        for i in verdict.issues
    )
    session.add(
        IntakeAttempt(
            payload_id=payload.id,
            actor=actor[:64],
            outcome=verdict.status,
            corrected=corrected,
            note=note,
            issues=[i.as_dict() for i in verdict.issues],
            order_id=payload.order_id,
            created_at=now,
        )
    )
    await session.flush()
    PAYLOADS.labels(source.key, verdict.status).inc()
    for i in verdict.issues:
        ISSUES.labels(i.rule, i.severity).inc()
    log.info(
        "intake",
        source=source.key,
        intake_id=payload.public_id,
        status=verdict.status,
        rules=sorted({i.rule for i in verdict.issues}),
        actor=actor,
    )


async def _release_held(
    session: AsyncSession, created: IntakePayload, source: IntakeSource, store: Store
) -> list[Result]:
    """The create has arrived: apply the updates that waited for it, oldest first; earlier creates
    of the same order still in quarantine are superseded by this one."""
    rows = (
        await session.scalars(
            select(IntakePayload)
            .where(
                IntakePayload.source_id == source.id,
                IntakePayload.external_id == created.external_id,
                IntakePayload.id != created.id,
                or_(
                    IntakePayload.status == HELD,
                    (IntakePayload.status == QUARANTINED) & (IntakePayload.event == "create"),
                ),
            )
            .order_by(IntakePayload.received_at, IntakePayload.id)
        )
    ).all()
    released = []
    for row in rows:
        if row.status == HELD:
            released.append(await run(session, row, source, store, actor=f"create {created.public_id}"))
        else:
            verdict = Verdict(SUPERSEDED, [])
            await record_outcome(
                session, row, source, verdict, actor=f"create {created.public_id}", note="superseded"
            )
    return released
