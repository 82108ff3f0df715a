"""Console home (today at a glance) and the printable packing slip and invoice of an order."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordergate.console.dashboard import dashboard
from ordergate.console.frame import ADMIN_PATH, clean, operator_for, page
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import NotFound
from ordergate.orders.service import operator_order
from ordergate.web.wording import STATUS_LABELS

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)


@router.get("/home")
async def home_page(request: Request, session: Session, settings: AppSettings) -> Response:
    found = await operator_for(request, session, settings)
    if isinstance(found, Response):
        return found
    return page(
        request,
        settings,
        "admin_home.html",
        found.store,
        found,
        section="home",
        board=await dashboard(session, found.store),
    )


async def _printable(
    request: Request, session: Session, settings: AppSettings, number: str, kind: str
) -> Response:
    found = await operator_for(request, session, settings)
    if isinstance(found, Response):
        return found
    try:
        view = await operator_order(session, found.store, clean(number, 32))
    except NotFound:
        return page(
            request,
            settings,
            "admin_message.html",
            found.store,
            found,
            section="orders",
            status=404,
            title="Order not found",
            body="There is no order with this number in this store.",
            link=(f"{ADMIN_PATH}/orders", "Back to orders"),
        )
    return page(
        request,
        settings,
        "admin_print.html",
        found.store,
        found,
        section="orders",
        order=view,
        kind=kind,
        status_labels=STATUS_LABELS,
    )


@router.get("/orders/{number}/packing-slip")
async def packing_slip(request: Request, session: Session, settings: AppSettings, number: str) -> Response:
    return await _printable(request, session, settings, number, "packing-slip")


@router.get("/orders/{number}/invoice")
async def invoice(request: Request, session: Session, settings: AppSettings, number: str) -> Response:
    return await _printable(request, session, settings, number, "invoice")
