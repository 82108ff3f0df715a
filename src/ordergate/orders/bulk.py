"""Bulk order work: shipments from a CSV of order numbers, carriers and tracking numbers; unpaid
orders cancelled by number. Each row in its own savepoint: a refused row changes nothing and the
others go on; every row gets its outcome."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.audit.service import Actor
from ordergate.errors import DomainError, Unprocessable
from ordergate.orders.operator import cancel, record_shipment
from ordergate.orders.schemas import CancelIn, ShipmentIn
from ordergate.orders.service import expire_if_due, load_order
from ordergate.orders.status import OrderStatus
from ordergate.stores.models import Store

MAX_ROWS = 2000
SHIP_COLUMNS = ("number", "carrier", "tracking_number")


@dataclass(frozen=True)
class RowOutcome:
    row: int
    number: str
    done: bool
    message: str
    raw: str = ""  # the line as given, to give back when it was refused


def _shipment_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of `number,carrier,tracking_number[,evidence]`, with or without that header line."""
    reader = csv.reader(io.StringIO(text.strip("\ufeff"), newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    for n, cells in enumerate(reader, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if n == 1 and [c.lower() for c in cells[:3]] == list(SHIP_COLUMNS):
            continue  # the header
        padded = [*cells, "", "", "", ""][:4]
        row = dict(zip((*SHIP_COLUMNS, "evidence"), padded, strict=True))
        row["raw"] = ",".join(cells)
        rows.append((n, row))
        if len(rows) > MAX_ROWS:
            raise Unprocessable(f"At most {MAX_ROWS} rows at once", field="shipments")
    if not rows:
        raise Unprocessable("Give one line per order: number, carrier, tracking number", field="shipments")
    return rows


async def ship_from_csv(session: AsyncSession, store: Store, text: str, *, actor: Actor) -> list[RowOutcome]:
    outcomes = []
    for line, row in _shipment_rows(text):
        number = row["number"][:32]
        try:
            data = ShipmentIn.model_validate(
                {
                    "carrier": row["carrier"],
                    "tracking_number": row["tracking_number"],
                    "evidence": row["evidence"],
                }
            )
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
            outcomes.append(RowOutcome(line, number, False, f"missing or too long: {fields}", row["raw"]))
            continue
        try:
            async with session.begin_nested():
                await record_shipment(session, store, number, data, actor=actor)
        except DomainError as exc:
            outcomes.append(RowOutcome(line, number, False, exc.detail, row["raw"]))
            continue
        outcomes.append(RowOutcome(line, number, True, f"shipped with {data.carrier} {data.tracking_number}"))
    return outcomes


def order_numbers(text: str) -> list[str]:
    """Order numbers separated by spaces, commas or new lines, each once, in the order given."""
    seen: dict[str, None] = {}
    for token in text.replace(",", " ").split():
        seen.setdefault(token.strip().upper()[:32], None)
    numbers = [n for n in seen if n]
    if not numbers:
        raise Unprocessable("Give at least one order number", field="numbers")
    if len(numbers) > MAX_ROWS:
        raise Unprocessable(f"At most {MAX_ROWS} orders at once", field="numbers")
    return numbers


async def cancel_unpaid(
    session: AsyncSession, store: Store, text: str, *, reason: str, actor: Actor
) -> list[RowOutcome]:
    """Cancel each listed order that is still awaiting payment; others are refused by name, never
    cancelled here (a paid order needs a refund too: its own page)."""
    data = CancelIn(reason=reason[:500])
    outcomes = []
    for n, number in enumerate(order_numbers(text), start=1):
        try:
            async with session.begin_nested():
                order = await load_order(session, store, number=number)
                await expire_if_due(session, order)
                if order.status == OrderStatus.EXPIRED:
                    raise Unprocessable("it expired unpaid already: its stock is back", field="numbers")
                if order.status != OrderStatus.AWAITING_PAYMENT:
                    raise Unprocessable(f"it is {order.status}, not unpaid", field="numbers")
                await cancel(session, store, number, data, actor=actor)
        except DomainError as exc:
            outcomes.append(RowOutcome(n, number, False, exc.detail, number))
            continue
        outcomes.append(RowOutcome(n, number, True, "cancelled; its stock is back on sale"))
    return outcomes
