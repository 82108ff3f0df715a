"""Console home (today at a glance) and the printable packing slip and invoice of an order."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.dashboard import dashboard
from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, page
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import NotFound
from ordergate.orders.operator import operator_order
from ordergate.settings import Settings
from ordergate.web.wording import STATUS_LABELS

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)


@router.get("/home")
async def home_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
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
    request: Request, session: AsyncSession, settings: Settings, number: str, kind: str, found: Operator
) -> Response:
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
async def packing_slip(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _printable(request, session, settings, number, "packing-slip", found)


@router.get("/orders/{number}/invoice")
async def invoice(
    request: Request, session: Session, settings: AppSettings, number: str, found: ConsoleOperator
) -> Response:
    return await _printable(request, session, settings, number, "invoice", found)
