"""Console order pages: the order book with its filters and search, one order with its timeline,
payments, shipments and messages, and the moves the order's state allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
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
    note_refund,
    operator_order,
    order_sources,
    record_payment_evidence,
    record_shipment,
)
from ordergate.orders.schemas import CancelIn, OperatorOrderOut, PaymentEvidenceIn, RefundNoteIn, ShipmentIn
from ordergate.orders.state import can_move
from ordergate.orders.status import PAID_STATUSES, STATUSES, OrderStatus
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors, validate_part
from ordergate.web.wording import PAYMENT_STATES, STATUS_LABELS

router = APIRouter(prefix=f"{ADMIN_PATH}/orders", include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

LIMIT, MORE = 100, 500
FILTER_FIELDS = ("status", "source", "created_from", "created_to", "q")
DONE = {
    "shipment": "Shipment recorded: the buyer is told it is on its way.",
    "complete": "Order completed.",
    "cancel": "Order cancelled. Any stock it held is back on sale.",
    "payment": "Payment recorded.",
    "refund": "Refund noted on the order.",
    "retry": "The message will be sent again.",
}
# What an empty required field says, by form field.
REQUIRED = {
    "shipment.carrier": "Enter the carrier",
    "shipment.tracking_number": "Enter the tracking number",
    "payment.amount": "Enter the amount received",
    "payment.reference": "Enter the payment's reference (bank reference or transaction id)",
    "refund.amount": "Enter the amount refunded",
    "refund.reference": "Enter the refund's reference (bank reference or transaction id)",
}
AMOUNT_HINT = "Enter the amount as a number, like 12.50"


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
    limit = MORE if query.get("more") == "1" else LIMIT
    items: list[Any] = []
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
                limit=limit,
                source=filters["source"] or None,
                created_from=created_from,
                created_to=created_to,
                search=filters["q"] or None,
            )
            items = listing.items
        except DomainError as exc:
            _place(exc, errors, prefix="", known=FILTER_FIELDS)
            status = exc.status
    filtered = any(filters.values())
    more_query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "more"])
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
        limit=limit,
        more_url=f"{ADMIN_PATH}/orders?{more_query}{'&' if more_query else ''}more=1",
    )


def _place(exc: DomainError, errors: FormErrors, *, prefix: str, known: tuple[str, ...] | set[str]) -> None:
    """A service's error beside the form field it names (`refund.amount`), else at the top."""
    if not exc.errors:
        errors.add("", exc.detail)
        return
    for err in exc.errors:
        key = f"{prefix}.{err.field}" if prefix else err.field
        errors.add(key if key in known else "", err.message)


def _refundable(view: OperatorOrderOut) -> bool:
    received = Decimal(view.payment.received_amount) if view.payment else Decimal(0)
    return (
        received > 0
        or view.status in PAID_STATUSES
        or (view.payment is None and view.status != OrderStatus.CANCELLED)
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
    actions = {
        "payment": view.status == OrderStatus.AWAITING_PAYMENT and view.payment is not None,
        "shipment": can_move(view.status, OrderStatus.SHIPPED),
        "complete": can_move(view.status, OrderStatus.COMPLETED),
        "cancel": can_move(view.status, OrderStatus.CANCELLED),
        "refund": _refundable(view),
    }
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
        event_titles=EVENT_TITLES,
        event_details=event_details,
        message_kinds=MESSAGE_KINDS,
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


def _required(values: Mapping[str, str], form: str, names: tuple[str, ...], errors: FormErrors) -> None:
    for name in names:
        key = f"{form}.{name}"
        if key in REQUIRED and not values.get(name, "").strip():
            errors.add(key, REQUIRED[key])


def _parse(model: type[M], values: Mapping[str, object], form: str, errors: FormErrors) -> M | None:
    before = set(errors.fields)
    parsed = validate_part(model, values, form, errors)
    amount = f"{form}.amount"
    if amount in errors.fields and amount not in before:
        errors.fields[amount] = AMOUNT_HINT
    return parsed


def _shipment(values: Mapping[str, str], errors: FormErrors) -> ShipmentIn | None:
    _required(values, "shipment", ("carrier", "tracking_number"), errors)
    wanted = {k: values.get(k, "") for k in ("carrier", "tracking_number", "evidence")}
    return None if errors else _parse(ShipmentIn, wanted, "shipment", errors)


def _cancel(values: Mapping[str, str], errors: FormErrors) -> CancelIn | None:
    return _parse(CancelIn, {"reason": values.get("reason", "")}, "cancel", errors)


def _payment(values: Mapping[str, str], errors: FormErrors) -> PaymentEvidenceIn | None:
    _required(values, "payment", ("amount", "reference"), errors)
    raw = values.get("confirmations", "").strip() or "1"
    if not raw.isdigit():
        errors.add("payment.confirmations", "Enter the number of confirmations as a whole number, like 1")
    if errors:
        return None
    wanted: dict[str, object] = {
        "amount": values.get("amount", "").strip(),
        "reference": values.get("reference", ""),
        "confirmations": int(raw),
    }
    return _parse(PaymentEvidenceIn, wanted, "payment", errors)


def _refund(values: Mapping[str, str], errors: FormErrors) -> RefundNoteIn | None:
    _required(values, "refund", ("amount", "reference"), errors)
    if errors:
        return None
    wanted: dict[str, object] = {
        "amount": values.get("amount", "").strip(),
        "reference": values.get("reference", ""),
        "note": values.get("note", ""),
    }
    if values.get("asset", "").strip():
        wanted["asset"] = values["asset"]
    return _parse(RefundNoteIn, wanted, "refund", errors)


FIELDS = {
    "shipment": {"shipment.carrier", "shipment.tracking_number", "shipment.evidence"},
    "cancel": {"cancel.reason"},
    "payment": {"payment.amount", "payment.reference", "payment.confirmations"},
    "refund": {"refund.amount", "refund.asset", "refund.reference", "refund.note"},
    "complete": set(),
}


async def _act(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    number: str,
    *,
    form: str,
    parse: Callable[[Mapping[str, str], FormErrors], Any] | None,
    act: Callable[[AsyncSession, Store, str, Any], Awaitable[object]],
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
            await act(session, found.store, clean(number, 32), parsed)
    except NotFound:
        return _not_found(request, settings, found)
    except DomainError as exc:
        _place(exc, errors, prefix=form, known=FIELDS[form])
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
        request, session, settings, number, found=found, form="shipment", parse=_shipment, act=record_shipment
    )


@router.post("/{number}/complete")
async def complete_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    async def run(session: AsyncSession, store: Store, number: str, _: object) -> object:
        return await complete(session, store, number)

    return await _act(request, session, settings, number, found=found, form="complete", parse=None, act=run)


@router.post("/{number}/cancel")
async def cancel_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _act(
        request, session, settings, number, found=found, form="cancel", parse=_cancel, act=cancel
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
        parse=_payment,
        act=record_payment_evidence,
    )


@router.post("/{number}/refunds")
async def refund_submit(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _act(
        request, session, settings, number, found=found, form="refund", parse=_refund, act=note_refund
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
            await retry_dead(session, found.store, int(message_id))
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _order_page(request, session, settings, found, number, errors=errors, status=exc.status)
    return see_other(f"{ADMIN_PATH}/orders/{clean(number, 32).strip().upper()}?done=retry#messages")
