"""Console intake pages: the quarantine (what waits, and why, with each rule's owner), one payload
with its body and history, and replay (as received or corrected), bulk replay and dismissal."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.intake import quarantine
from ordergate.intake.models import HELD, QUARANTINED
from ordergate.intake.schemas import BulkReplayIn, DismissIn, ReplayIn
from ordergate.settings import Settings
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix="/intake")

MAX_ID = 32
MAX_BODY = 2 * 1024 * 1024
DONE = {
    "replayed": "Replayed.",
    "dismissed": "Dismissed: it stays on record and can still be replayed.",
}


@router.get("")
async def quarantine_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _quarantine(request, session, settings, found)


async def _quarantine(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    errors = errors or FormErrors()
    source = clean(request.query_params.get("source"), 32).strip() or None
    rule = clean(request.query_params.get("rule"), 48).strip() or None
    items = []
    try:
        items = (
            await quarantine.list_payloads(
                session, operator.store, statuses=(QUARANTINED, HELD), source=source, rule=rule, limit=200
            )
        ).items
    except DomainError as exc:
        for err in exc.errors or ():
            errors.add(err.field if err.field in ("source", "rule") else "", err.message)
        status = exc.status
    stats = await quarantine.stats(session, operator.store)
    return page(
        request,
        settings,
        "admin_intake.html",
        operator.store,
        operator,
        section="intake",
        status=status,
        payloads=items,
        stats=stats,
        chosen_source=source or "",
        chosen_rule=rule or "",
        errors=errors,
        notice=notice,
    )


@router.post("/replay")
async def replay_all(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    form = await request.form()
    if not form_ok(request, form.get("csrf")):
        return await _quarantine(request, session, settings, found, errors=stale_form(), status=403)
    source = clean(form.get("source"), 32).strip() or None
    rule = clean(form.get("rule"), 48).strip() or None
    errors = FormErrors()
    try:
        async with session.begin_nested():
            done = await quarantine.replay_many(
                session, found.store, BulkReplayIn(source=source, rule=rule), actor=found.actor
            )
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _quarantine(request, session, settings, found, errors=errors, status=exc.status)
    notice = (
        f"Replayed {done.replayed}: {done.accepted} accepted, {done.quarantined} still in quarantine."
        if done.replayed
        else "Nothing was waiting in quarantine."
    )
    return await _quarantine(request, session, settings, found, notice=notice)


async def _payload_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    intake_id: str,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        detail = await quarantine.payload_detail(session, operator.store, clean(intake_id, MAX_ID))
    except NotFound:
        return page(
            request,
            settings,
            "admin_message.html",
            operator.store,
            operator,
            section="intake",
            status=404,
            title="Payload not found",
            body="There is no intake payload with this id in this store.",
            link=(f"{ADMIN_PATH}/intake", "Back to the quarantine"),
        )
    correction = (values or {}).get("payload")
    if correction is None:
        correction = detail.corrected_text if detail.corrected_text is not None else (detail.body_text or "")
    return page(
        request,
        settings,
        "admin_payload.html",
        operator.store,
        operator,
        section="intake",
        status=status,
        payload=detail,
        correction=correction,
        values=values or {},
        errors=errors or FormErrors(),
        notice=DONE.get(request.query_params.get("done", "")) if status == 200 else None,
        settled=detail.status in ("accepted", "duplicate", "superseded"),
        can_dismiss=detail.status in (QUARANTINED, HELD),
        page_path=f"{ADMIN_PATH}/intake/{detail.intake_id}",
    )


@router.get("/{intake_id}")
async def payload_page(
    request: Request, session: Session, settings: AppSettings, intake_id: str, found: ConsoleOperator
) -> Response:
    return await _payload_page(request, session, settings, found, intake_id)


@router.post("/{intake_id}/replay")
async def replay_one(
    request: Request, session: Session, settings: AppSettings, intake_id: str, found: ConsoleOperator
) -> Response:
    """Replay as received, or with the corrected body typed on the page (JSON, or CSV text)."""
    form = await request.form()
    values = {
        "payload": clean(form.get("payload"), MAX_BODY),
        "note": clean(form.get("note"), 500),
    }
    if not form_ok(request, form.get("csrf")):
        return await _payload_page(
            request, session, settings, found, intake_id, errors=stale_form(), values=values, status=403
        )
    errors = FormErrors()
    data = ReplayIn(note=values["note"].strip()[:500])
    if form.get("mode") == "corrected":
        try:
            detail = await quarantine.payload_detail(session, found.store, clean(intake_id, MAX_ID))
        except NotFound:
            return await _payload_page(request, session, settings, found, intake_id)
        text = values["payload"]
        if detail.kind == "csv":
            data = ReplayIn(payload=text, note=data.note)
        else:
            try:
                data = ReplayIn(payload=json.loads(text), note=data.note)
            except ValueError as exc:
                errors.add("payload", f"The corrected body is not valid JSON: {exc}")
    if not errors:
        try:
            async with session.begin_nested():
                await quarantine.replay(
                    session, found.store, clean(intake_id, MAX_ID), data, actor=found.actor
                )
        except NotFound:
            return await _payload_page(request, session, settings, found, intake_id)
        except DomainError as exc:
            errors.add("", exc.detail)
            return await _payload_page(
                request, session, settings, found, intake_id, errors=errors, values=values, status=exc.status
            )
        return see_other(f"{ADMIN_PATH}/intake/{clean(intake_id, MAX_ID)}?done=replayed")
    return await _payload_page(
        request, session, settings, found, intake_id, errors=errors, values=values, status=422
    )


@router.post("/{intake_id}/dismiss")
async def dismiss_one(
    request: Request, session: Session, settings: AppSettings, intake_id: str, found: ConsoleOperator
) -> Response:
    form = await request.form()
    note = clean(form.get("dismiss_note"), 500).strip()
    values = {"dismiss_note": note}
    if not form_ok(request, form.get("csrf")):
        return await _payload_page(
            request, session, settings, found, intake_id, errors=stale_form(), values=values, status=403
        )
    errors = FormErrors()
    if not note:
        errors.add("dismiss_note", "Say why it is set aside (the channel's owner will read it)")
        return await _payload_page(
            request, session, settings, found, intake_id, errors=errors, values=values, status=422
        )
    try:
        async with session.begin_nested():
            await quarantine.dismiss(
                session, found.store, clean(intake_id, MAX_ID), DismissIn(note=note), actor=found.actor
            )
    except NotFound:
        return await _payload_page(request, session, settings, found, intake_id)
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _payload_page(
            request, session, settings, found, intake_id, errors=errors, values=values, status=exc.status
        )
    return see_other(f"{ADMIN_PATH}/intake/{clean(intake_id, MAX_ID)}?done=dismissed")
