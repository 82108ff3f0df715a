"""Console pages for running the store: payments (methods and provider callbacks), messages (the
outbox), the funnel report with its charts and CSV, and the store's API keys."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.analytics.service import funnel_report, parse_since, report_csv
from ordergate.console import charts
from ordergate.console.frame import (
    ADMIN_PATH,
    SESSION_COOKIE,
    ConsoleOperator,
    clean,
    form_ok,
    page,
    stale_form,
)
from ordergate.console.intake_pages import router as intake_router
from ordergate.console.service import Operator, end_key_sessions
from ordergate.console.wording import MESSAGE_KINDS
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError
from ordergate.notifications.service import OUTBOX_STATES, list_outbox, retry_dead
from ordergate.orders.operator import list_orders
from ordergate.payments.overview import EVENT_STATUSES, callback_events, method_statuses
from ordergate.settings import Settings
from ordergate.stores.service import add_operator_key, list_operator_keys, revoke_operator_key
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)
router.include_router(intake_router)

PERIODS = (("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"))
MAX_LABEL = 200


# --- payments ---------------------------------------------------------------------------------


@router.get("/payments")
async def payments_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    status = clean(request.query_params.get("status"), 16) or None
    errors = FormErrors()
    events = []
    try:
        events = (await callback_events(session, found.store, status=status, limit=100)).items
    except DomainError as exc:
        errors.add("status", exc.detail)
    methods = (await method_statuses(session, found.store, settings=settings)).items
    attention = (await list_orders(session, found.store, status=None, attention=True, limit=100)).items
    return page(
        request,
        settings,
        "admin_payments.html",
        found.store,
        found,
        section="payments",
        status=422 if errors else 200,
        methods=methods,
        events=events,
        attention=attention,
        event_statuses=EVENT_STATUSES,
        chosen_status=status or "",
        errors=errors,
    )


# --- messages ---------------------------------------------------------------------------------


@router.get("/messages")
async def messages_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _messages(request, session, settings, found)


async def _messages(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    found: Operator,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    errors = errors or FormErrors()
    state = clean(request.query_params.get("state"), 16) or None
    items = []
    try:
        items = (await list_outbox(session, found.store, state=state, limit=200)).items
    except DomainError as exc:
        errors.add("state", exc.detail)
        status = exc.status
    return page(
        request,
        settings,
        "admin_messages.html",
        found.store,
        found,
        section="messages",
        status=status,
        messages=items,
        states=OUTBOX_STATES,
        chosen_state=state or "",
        message_kinds=MESSAGE_KINDS,
        errors=errors,
        notice="The message will be sent again." if request.query_params.get("done") == "retry" else None,
    )


@router.post("/messages/{message_id}/retry")
async def messages_retry(
    request: Request, session: Session, settings: AppSettings, message_id: str, found: ConsoleOperator
) -> Response:
    form = await request.form()
    if not form_ok(request, form.get("csrf")):
        return await _messages(request, session, settings, found, errors=stale_form(), status=403)
    errors = FormErrors()
    try:
        if not message_id.isdigit() or not 0 < int(message_id) < 2**31:
            raise DomainError("No such message in this store's outbox")
        async with session.begin_nested():
            await retry_dead(session, found.store, int(message_id), actor=found.actor)
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _messages(request, session, settings, found, errors=errors, status=exc.status)
    return see_other(f"{ADMIN_PATH}/messages?done=retry")


# --- report -----------------------------------------------------------------------------------


@router.get("/report")
async def report_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    since = clean(request.query_params.get("since"), 40).strip() or "30d"
    errors = FormErrors()
    report = None
    try:
        report = await funnel_report(session, found.store, since=parse_since(since))
    except DomainError as exc:
        errors.add("since", exc.detail)
    return page(
        request,
        settings,
        "admin_report.html",
        found.store,
        found,
        section="report",
        status=422 if errors else 200,
        report=report,
        since=since,
        periods=PERIODS,
        errors=errors,
        funnel_chart=charts.funnel_chart(report, lambda n: str(n)) if report else None,
        rates_chart=charts.rates_chart(report) if report else None,
        step_names=charts.STEP_NAMES,
        percent=charts.percent,
    )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", text)[:40] or "period"


@router.get("/report.csv")
async def report_download(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    since = clean(request.query_params.get("since"), 40).strip() or "30d"
    try:
        report = await funnel_report(session, found.store, since=parse_since(since))
    except DomainError:
        return see_other(f"{ADMIN_PATH}/report?{urlencode({'since': since})}")
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{found.store.slug}-funnel-{_safe(since)}.csv"',
            "Cache-Control": "no-store",
        },
    )


# --- API keys ---------------------------------------------------------------------------------


async def _keys(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    found: Operator,
    *,
    new_key: str | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    revoked = clean(request.query_params.get("revoked"), 16)
    return page(
        request,
        settings,
        "admin_keys.html",
        found.store,
        found,
        section="keys",
        status=status,
        keys=await list_operator_keys(session, found.store),
        new_key=new_key,
        errors=errors or FormErrors(),
        notice=f"Key {revoked} is revoked: it no longer opens the API or the console." if revoked else None,
    )


@router.get("/keys")
async def keys_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _keys(request, session, settings, found)


@router.post("/keys")
async def keys_create(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    """A new key, shown once on this response (never put in an address, never shown again)."""
    form = await request.form()
    if not form_ok(request, form.get("csrf")):
        return await _keys(request, session, settings, found, errors=stale_form(), status=403)
    label = clean(form.get("label"), MAX_LABEL + 1).strip()
    if len(label) > MAX_LABEL:
        errors = FormErrors()
        errors.add("label", f"Keep the label under {MAX_LABEL} characters")
        return await _keys(request, session, settings, found, errors=errors, status=422)
    key = await add_operator_key(
        session, found.store, label=label or f"console ({found.actor.label})", actor=found.actor
    )
    return await _keys(request, session, settings, found, new_key=key)


@router.post("/keys/{key_id}/revoke")
async def keys_revoke(
    request: Request, session: Session, settings: AppSettings, key_id: str, found: ConsoleOperator
) -> Response:
    form = await request.form()
    if not form_ok(request, form.get("csrf")):
        return await _keys(request, session, settings, found, errors=stale_form(), status=403)
    try:
        row = await revoke_operator_key(session, found.store, clean(key_id, 16), actor=found.actor)
    except DomainError as exc:
        errors = FormErrors()
        errors.add("", exc.detail)
        return await _keys(request, session, settings, found, errors=errors, status=exc.status)
    await end_key_sessions(session, row.id)
    if row.id == found.operator_key_row:
        response = see_other(f"{ADMIN_PATH}/sign-in?ended=1")
        response.delete_cookie(SESSION_COOKIE, path=ADMIN_PATH)
        return response
    return see_other(f"{ADMIN_PATH}/keys?revoked={row.key_id}")
