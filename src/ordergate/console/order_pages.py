"""Console order pages: the order book with its filters and search, one order with its timeline,
payments, shipments and messages, and the moves the order's state allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.audit.service import Actor
from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.order_forms import (
    FIELDS,
    REFUND_STATES,
    cancel_form,
    payment_form,
    place,
    refund_kind,
    refundable_amount,
    shipment_form,
)
from ordergate.console.roles import allowed
from ordergate.console.service import Operator, order_messages
from ordergate.console.wording import EVENT_TITLES, MESSAGE_KINDS, event_details
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.notifications.service import retry_dead
from ordergate.orders.operator import (
    cancel,
    complete,
    list_orders,
    operator_order,
    order_sources,
    record_payment_evidence,
    record_shipment,
)
from ordergate.orders.state import can_move
from ordergate.orders.status import STATUSES, OrderStatus
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors
from ordergate.web.wording import PAYMENT_STATES, STATUS_LABELS, waiting_for_confirmations

ACTION_PATHS = {
    "payment": "payments",
    "shipment": "shipments",
    "complete": "complete",
    "cancel": "cancel",
    "refund": "refunds",
    "accept_late": "accept-payment",
}
router = APIRouter(prefix=f"{ADMIN_PATH}/orders", include_in_schema=False)

LIMIT = 100  # a page; "Next page" goes on from its last order (keyset), however deep
FILTER_FIELDS = ("status", "source", "created_from", "created_to", "q")
DONE = {
    "shipment": "Shipment recorded: the buyer is told it is on its way.",
    "complete": "Order completed.",
    "cancel": "Order cancelled. Any stock it held is back on sale.",
    "payment": "Payment recorded.",
    "refund": "Refund made. The buyer is told.",
    "accept_late": "Late payment accepted: the order is paid and its items are taken from stock.",
    "retry": "The message will be sent again.",
}


def _day(value: str, field: str, errors: FormErrors) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(field, "Enter a date like 2026-11-01")
        return None


@router.get("")
async def orders_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    query = request.query_params
    filters = {name: clean(query.get(name), 100).strip() for name in FILTER_FIELDS}
    filters["attention"] = "1" if query.get("attention") in ("1", "true", "on") else ""
    errors = FormErrors()
    created_from = _day(filters["created_from"], "created_from", errors)
    created_to = _day(filters["created_to"], "created_to", errors)
    if created_from and created_to and created_to < created_from:
        errors.add("created_to", "The last day is before the first day")
    after = clean(query.get("after"), 200).strip() or None
    items: list[Any] = []
    next_cursor: str | None = None
    status = 200
    if errors:
        status = 422
    else:
        try:
            listing = await list_orders(
                session,
                found.store,
                status=filters["status"] or None,
                attention=True if filters["attention"] else None,
                limit=LIMIT,
                source=filters["source"] or None,
                created_from=created_from,
                created_to=created_to,
                search=filters["q"] or None,
                after=after,
            )
            items, next_cursor = listing.items, listing.next
        except DomainError as exc:
            place(exc, errors, prefix="", known=FILTER_FIELDS)
            status = exc.status
    filtered = any(filters.values())
    same = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", "more")]
    base = urlencode(same)
    return page(
        request,
        settings,
        "admin_orders.html",
        found.store,
        found,
        section="orders",
        status=status,
        orders=items,
        filters=filters,
        filtered=filtered,
        errors=errors,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        sources=await order_sources(session, found.store),
        limit=LIMIT,
        later=bool(after),
        first_url=f"{ADMIN_PATH}/orders?{base}",
        next_url=(
            f"{ADMIN_PATH}/orders?{urlencode([*same, ('after', next_cursor)])}" if next_cursor else None
        ),
        export_url=f"{ADMIN_PATH}/orders/export.csv?{base}",
    )


async def _order_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    number: str,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    open_form: str = "",
    status: int = 200,
) -> Response:
    store = operator.store
    try:
        view = await operator_order(session, store, clean(number, 32))
    except NotFound:
        return _not_found(request, settings, operator)
    ceiling = operator.refund_ceiling()
    possible = {
        "payments": view.status == OrderStatus.AWAITING_PAYMENT and view.payment is not None,
        "shipments": can_move(view.status, OrderStatus.SHIPPED),
        "complete": can_move(view.status, OrderStatus.COMPLETED),
        "cancel": can_move(view.status, OrderStatus.CANCELLED),
        "refunds": refundable_amount(view) > 0 and (ceiling is None or ceiling > 0),
        "accept-payment": view.status == OrderStatus.EXPIRED
        and any(p.late and not p.dropped for p in view.payments),
    }
    # Only what the order's state allows and the operator's role may do (console/roles.py).
    base = f"{ADMIN_PATH}/orders/{view.number}"
    allowed_now = {k: v and allowed(operator.role, "POST", f"{base}/{k}") for k, v in possible.items()}
    actions = {name: allowed_now[path] for name, path in ACTION_PATHS.items()}
    notice = DONE.get(request.query_params.get("done", "")) if status == 200 else None
    return page(
        request,
        settings,
        "admin_order.html",
        store,
        operator,
        section="orders",
        status=status,
        order=view,
        messages=await order_messages(session, store, view.number),
        actions=actions,
        errors=errors or FormErrors(),
        values=dict(values or {}),
        open_form=open_form,
        notice=notice,
        status_labels=STATUS_LABELS,
        payment_states=PAYMENT_STATES,
        waiting_for_confirmations=waiting_for_confirmations,
        event_titles=EVENT_TITLES,
        event_details=event_details,
        message_kinds=MESSAGE_KINDS,
        refundable=refundable_amount(view),
        refund_kind=refund_kind(view),
        refund_ceiling=ceiling,
        refund_states=REFUND_STATES,
        page_path=f"{ADMIN_PATH}/orders/{view.number}",
    )


def _not_found(request: Request, settings: Settings, operator: Operator) -> Response:
    return page(
        request,
        settings,
        "admin_message.html",
        operator.store,
        operator,
        section="orders",
        status=404,
        title="Order not found",
        body="There is no order with this number in this store. Check the number, or search for the "
        "buyer's email or phone.",
        link=(f"{ADMIN_PATH}/orders", "Back to orders"),
    )


@router.get("/{number}")
async def order_page(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _order_page(request, session, settings, found, number)


async def _act(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    number: str,
    *,
    form: str,
    parse: Callable[[Mapping[str, str], FormErrors], Any] | None,
    act: Callable[..., Awaitable[object]],  # (session, store, number, parsed, *, actor)
    found: Operator,
) -> Response:
    """One operator move from the order page: parse the form to the service's own input, call the
    service, then show the order again (with the errors beside their fields when it refused)."""
    data = await request.form()
    values = {key: clean(value, 2000) for key, value in data.items() if key != "csrf"}
    shown = {f"{form}.{key}": value for key, value in values.items()}
    if not form_ok(request, data.get("csrf")):
        return await _order_page(
            request, session, settings, found, number, errors=stale_form(), values=shown, status=403
        )
    errors = FormErrors()
    parsed = parse(values, errors) if parse is not None else None
    if errors:
        return await _order_page(
            request, session, settings, found, number, errors=errors, values=shown, open_form=form, status=422
        )
    try:
        async with session.begin_nested():
            await act(session, found.store, clean(number, 32), parsed, actor=found.actor)
    except NotFound:
        return _not_found(request, settings, found)
    except DomainError as exc:
        place(exc, errors, prefix=form, known=FIELDS[form])
        return await _order_page(
            request,
            session,
            settings,
            found,
            number,
            errors=errors,
            values=shown,
            open_form=form,
            status=exc.status,
        )
    return see_other(f"{ADMIN_PATH}/orders/{clean(number, 32).strip().upper()}?done={form}")


@router.post("/{number}/shipments")
async def shipment_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _act(
        request,
        session,
        settings,
        number,
        found=found,
        form="shipment",
        parse=shipment_form,
        act=record_shipment,
    )


@router.post("/{number}/complete")
async def complete_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    async def run(session: AsyncSession, store: Store, number: str, _: object, *, actor: Actor) -> object:
        return await complete(session, store, number, actor=actor)

    return await _act(request, session, settings, number, found=found, form="complete", parse=None, act=run)


@router.post("/{number}/cancel")
async def cancel_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _act(
        request,
        session,
        settings,
        number,
        found=found,
        form="cancel",
        parse=cancel_form,
        act=cancel,
    )


@router.post("/{number}/payments")
async def payment_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _act(
        request,
        session,
        settings,
        number,
        found=found,
        form="payment",
        parse=payment_form,
        act=record_payment_evidence,
    )


@router.post("/{number}/messages/{message_id}/retry")
async def message_retry(
    request: Request,
    session: Session,
    settings: AppSettings,
    number: str,
    message_id: str,
    found: ConsoleOperator,
) -> Response:
    data = await request.form()
    if not form_ok(request, data.get("csrf")):
        return await _order_page(request, session, settings, found, number, errors=stale_form(), status=403)
    errors = FormErrors()
    if not message_id.isdigit() or not 0 < int(message_id) < 2**31:
        return _not_found(request, settings, found)
    try:
        async with session.begin_nested():
            await retry_dead(session, found.store, int(message_id), actor=found.actor)
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _order_page(request, session, settings, found, number, errors=errors, status=exc.status)
    return see_other(f"{ADMIN_PATH}/orders/{clean(number, 32).strip().upper()}?done=retry#messages")
