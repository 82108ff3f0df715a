"""Console bundle pages: the proposals from sales (with their percent to set and approve, or to
decline), the bundles offered to every buyer (their percent changed, or retired), the retired ones
(offered again). Every change goes through recommendations.bundles, as the operator API does."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.recommendations import bundles
from ordergate.settings import Settings
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=f"{ADMIN_PATH}/bundles", include_in_schema=False)

PERCENT = "Enter a whole percent from 1 to 90, like 10"
SUPPORT = "Enter a whole number of orders, 1 or more, like 3"
DONE = {
    "proposed": "New proposals are below. None is offered until you approve it.",
    "none": "No new proposals: no other pair was bought together often enough, with both products on sale.",
    "approved": "Bundle approved: every buyer gets it from their next quote or order.",
    "retired": "Bundle retired: orders placed from now on do not get it. Orders already placed keep theirs.",
}


async def _page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    listing = await bundles.list_bundles(session, operator.store)
    notice = DONE.get(request.query_params.get("done", "")) if status == 200 else None
    return page(
        request,
        settings,
        "admin_bundles.html",
        operator.store,
        operator,
        section="bundles",
        status=status,
        proposed=[b for b in listing.items if b.state == bundles.PROPOSED],
        approved=[b for b in listing.items if b.state == bundles.APPROVED],
        retired=[b for b in listing.items if b.state == bundles.RETIRED],
        errors=errors or FormErrors(),
        values=dict(values or {}),
        notice=notice,
    )


@router.get("")
async def bundles_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _page(request, session, settings, found)


def _whole(raw: str, low: int, high: int) -> int | None:
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        return None
    return int(raw)


@router.post("/propose")
async def propose_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    data = await request.form()
    typed = clean(data.get("min_orders"), 20)
    values = {"propose.min_orders": typed}
    if not form_ok(request, data.get("csrf")):
        return await _page(request, session, settings, found, errors=stale_form(), values=values, status=403)
    min_orders = _whole(typed, 1, 1_000_000)
    if min_orders is None:
        errors = FormErrors()
        errors.add("propose.min_orders", SUPPORT)
        return await _page(request, session, settings, found, errors=errors, values=values, status=422)
    made = await bundles.propose_bundles(
        session, found.store, min_orders=min_orders, limit=10, actor=found.actor
    )
    return see_other(f"{ADMIN_PATH}/bundles?done={'proposed' if made.items else 'none'}")


async def _change(
    request: Request, session: AsyncSession, settings: Settings, found: Operator, bundle_id: str, action: str
) -> Response:
    """Approve (with the percent typed beside the button) or retire one bundle; the page again with
    the error beside the percent, and what was typed kept, when it is refused."""
    data = await request.form()
    key = f"bundle-{clean(bundle_id, 12)}.percent_off"
    typed = clean(data.get("percent_off"), 20)
    values = {key: typed} if action == "approve" else {}
    if not form_ok(request, data.get("csrf")):
        return await _page(request, session, settings, found, errors=stale_form(), values=values, status=403)
    errors = FormErrors()
    number = _whole(clean(bundle_id, 12), 1, 2**31 - 1)
    percent = _whole(typed, 1, 90) if action == "approve" else None
    if action == "approve" and percent is None:
        errors.add(key, PERCENT)
        return await _page(request, session, settings, found, errors=errors, values=values, status=422)
    actor = found.actor
    try:
        if number is None:
            raise NotFound("No such bundle in this store", field="bundle")
        async with session.begin_nested():
            if action == "approve":
                await bundles.approve_bundle(session, found.store, number, percent_off=percent, actor=actor)
            else:
                await bundles.retire_bundle(session, found.store, number, actor=actor)
    except DomainError as exc:
        errors.add(key if action == "approve" else "", exc.detail)
        return await _page(request, session, settings, found, errors=errors, values=values, status=exc.status)
    return see_other(f"{ADMIN_PATH}/bundles?done={'approved' if action == 'approve' else 'retired'}")


@router.post("/{bundle_id}/approve")
async def approve_submit(
    request: Request, session: Session, settings: AppSettings, bundle_id: str, found: ConsoleOperator
) -> Response:
    return await _change(request, session, settings, found, bundle_id, "approve")


@router.post("/{bundle_id}/retire")
async def retire_submit(
    request: Request, session: Session, settings: AppSettings, bundle_id: str, found: ConsoleOperator
) -> Response:
    return await _change(request, session, settings, found, bundle_id, "retire")
