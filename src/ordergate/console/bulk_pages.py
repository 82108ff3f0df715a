"""Console bulk order work: shipments from a CSV (number, carrier, tracking number) and unpaid
orders cancelled by number, each row's outcome shown; and the order list as CSV."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError
from ordergate.orders.book import OrderFilters, orders_csv
from ordergate.orders.bulk import RowOutcome, cancel_unpaid, ship_from_csv
from ordergate.settings import Settings
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=f"{ADMIN_PATH}/orders", include_in_schema=False)
MAX_TEXT = 200_000


def _bulk_page(
    request: Request,
    settings: Settings,
    operator: Operator,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    outcomes: list[RowOutcome] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    return page(
        request,
        settings,
        "admin_orders_bulk.html",
        operator.store,
        operator,
        section="orders",
        status=status,
        errors=errors or FormErrors(),
        values=dict(values or {}),
        outcomes=outcomes,
        done=done,
    )


@router.get("/bulk")
async def bulk_page(request: Request, settings: AppSettings, found: ConsoleOperator) -> Response:
    return _bulk_page(request, settings, found)


async def _bulk(
    request: Request, session: AsyncSession, settings: Settings, found: Operator, form: str
) -> Response:
    data = await request.form()
    values = {f"{form}.{key}": clean(value, MAX_TEXT) for key, value in data.items() if key != "csrf"}
    if not form_ok(request, data.get("csrf")):
        return _bulk_page(request, settings, found, errors=stale_form(), values=values, status=403)
    errors = FormErrors()
    try:
        if form == "ship":
            outcomes = await ship_from_csv(
                session, found.store, values.get("ship.shipments", ""), actor=found.actor
            )
        else:
            reason = values.get("cancel.reason", "")
            outcomes = await cancel_unpaid(
                session, found.store, values.get("cancel.numbers", ""), reason=reason, actor=found.actor
            )
    except DomainError as exc:
        for err in exc.errors or ():
            errors.add(f"{form}.{err.field}", err.message)
        if not errors:
            errors.add("", exc.detail)
        return _bulk_page(request, settings, found, errors=errors, values=values, status=exc.status)
    failed = [o for o in outcomes if not o.done]
    # What was refused stays in the box to fix and send again; what was done is not repeated.
    keep = {f"{form}.shipments" if form == "ship" else f"{form}.numbers": "\n".join(o.raw for o in failed)}
    return _bulk_page(request, settings, found, values={**values, **keep}, outcomes=outcomes, done=form)


@router.post("/bulk/ship")
async def bulk_ship(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _bulk(request, session, settings, found, "ship")


@router.post("/bulk/cancel")
async def bulk_cancel(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _bulk(request, session, settings, found, "cancel")


@router.get("/export.csv")
async def orders_export(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    """The list as filtered on the orders page (same query), every page of it."""
    query = request.query_params
    errors = FormErrors()
    try:
        filters = OrderFilters(
            status=clean(query.get("status"), 32) or None,
            attention=True if query.get("attention") in ("1", "true", "on") else None,
            source=clean(query.get("source"), 32) or None,
            created_from=_day(query.get("created_from")),
            created_to=_day(query.get("created_to")),
            search=clean(query.get("q"), 100) or None,
        )
        text = await orders_csv(session, found.store, filters)
    except (DomainError, ValueError) as exc:
        errors.add("", getattr(exc, "detail", "Enter dates like 2026-11-01"))
        return page(
            request,
            settings,
            "admin_message.html",
            found.store,
            found,
            section="orders",
            status=422,
            title="This list cannot be exported",
            body=" ".join(m for _, m in errors.summary()),
            link=(f"{ADMIN_PATH}/orders", "Back to orders"),
        )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{found.store.slug}-orders.csv"',
            "Cache-Control": "no-store",
        },
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
