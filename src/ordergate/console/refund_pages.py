"""The console's money actions on an order's page: a refund (through the provider where there is
one) and accepting a payment that arrived after the order expired."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, stale_form
from ordergate.console.order_forms import FIELDS, refund_form
from ordergate.console.order_pages import _not_found, _order_page
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.orders.late import accept_late_payment
from ordergate.payments.refunds import send_refund, start_refund
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=f"{ADMIN_PATH}/orders", include_in_schema=False)


@router.post("/{number}/refunds")
async def refund_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    """Not through order_pages._act: a provider refund commits its pending row before asking the
    provider, so only the checks and the row run in the savepoint; the provider is asked after it."""
    data = await request.form()
    values = {key: clean(value, 2000) for key, value in data.items() if key != "csrf"}
    shown = {f"refund.{key}": value for key, value in values.items()}
    if not form_ok(request, data.get("csrf")):
        return await _order_page(
            request, session, settings, found, number, errors=stale_form(), values=shown, status=403
        )
    errors = FormErrors()
    parsed = refund_form(values, errors)
    if errors or parsed is None:
        return await _order_page(
            request,
            session,
            settings,
            found,
            number,
            errors=errors,
            values=shown,
            open_form="refund",
            status=422,
        )
    number = clean(number, 32)
    try:
        async with session.begin_nested():
            _, refund, ask = await start_refund(
                session, found.store, number, parsed, actor=found.actor, ceiling=found.refund_ceiling()
            )
    except NotFound:
        return _not_found(request, settings, found)
    except DomainError as exc:
        for err in exc.errors:
            field = "refund.lines" if err.field.startswith("lines") else f"refund.{err.field}"
            errors.add(field if field in FIELDS["refund"] else "", err.message)
        if not exc.errors:
            errors.add("", exc.detail)
        return await _order_page(
            request,
            session,
            settings,
            found,
            number,
            errors=errors,
            values=shown,
            open_form="refund",
            status=exc.status,
        )
    await send_refund(session, found.store, number, refund, ask, actor=found.actor.label)
    return see_other(f"{ADMIN_PATH}/orders/{number.strip().upper()}?done=refund")


@router.post("/{number}/accept-payment")
async def accept_payment_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    data = await request.form()
    if not form_ok(request, data.get("csrf")):
        return await _order_page(request, session, settings, found, number, errors=stale_form(), status=403)
    number = clean(number, 32)
    errors = FormErrors()
    try:
        async with session.begin_nested():
            await accept_late_payment(session, found.store, number, actor=found.actor)
    except NotFound:
        return _not_found(request, settings, found)
    except DomainError as exc:
        # The savepoint is gone but the order read inside it still says "reopened": read it afresh.
        session.expunge_all()
        errors.add("", exc.detail)
        return await _order_page(request, session, settings, found, number, errors=errors, status=exc.status)
    return see_other(f"{ADMIN_PATH}/orders/{number.strip().upper()}?done=accept_late")
