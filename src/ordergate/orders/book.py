"""The order book as the operator works it: filters, search, keyset pages (newest first, any depth),
each order with its customer, contact, items count and payment method, and the same list as CSV."""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money, security
from ordergate.errors import Unprocessable
from ordergate.orders.models import Order, OrderLine
from ordergate.orders.schemas import OrderListOut, OrderSummaryOut
from ordergate.orders.status import STATUSES
from ordergate.stores.models import Store

MAX_SEARCH = 100
PAGE_MAX = 500
CSV_COLUMNS = (
    "number",
    "created_at",
    "status",
    "total",
    "currency",
    "customer",
    "email",
    "phone",
    "items",
    "payment_method",
    "source",
    "needs_attention",
    "attention_reason",
    "discount",
    "refunded",
)


@dataclass(frozen=True)
class OrderFilters:
    """What the operator narrowed the list to. `created_from`/`created_to` are whole UTC days, both
    included; `search` is an order number, part of an email or phone, or a channel's order id."""

    status: str | None = None
    attention: bool | None = None
    source: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    search: str | None = None

    def checked(self) -> OrderFilters:
        if self.status is not None and self.status not in STATUSES:
            raise Unprocessable(f"status must be one of {', '.join(STATUSES)}", field="status")
        if (
            self.created_from is not None
            and self.created_to is not None
            and self.created_to < self.created_from
        ):
            raise Unprocessable("created_to must not be before created_from", field="created_to")
        search = (self.search or "").strip()
        if len(search) > MAX_SEARCH:
            raise Unprocessable(f"search is at most {MAX_SEARCH} characters", field="q")
        for field, value in (("source", self.source), ("q", search)):
            if value and "\x00" in value:
                raise Unprocessable(f"{field} must not contain NUL characters", field=field)
        return OrderFilters(
            self.status, self.attention, self.source, self.created_from, self.created_to, search or None
        )

    def apply(self, stmt: Select[Order, int]) -> Select[Order, int]:
        if self.status is not None:
            stmt = stmt.where(Order.status == self.status)
        if self.attention is not None:
            stmt = stmt.where(Order.needs_attention == self.attention)
        if self.source is not None:
            stmt = stmt.where(Order.source == self.source)
        if self.created_from is not None:
            stmt = stmt.where(Order.created_at >= _day_start(self.created_from))
        if self.created_to is not None:
            stmt = stmt.where(Order.created_at < _day_start(self.created_to + timedelta(days=1)))
        if self.search:
            stmt = stmt.where(search_clause(self.search))
        return stmt


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def search_clause(text: str) -> ColumnElement[bool]:
    """An order number (with or without its dash), part of an email address or phone number, or
    the order's id in its channel."""
    clauses = [Order.external_id == text]
    number = text.upper().replace(" ", "")
    if len(number) >= 4 and set(number) <= set(security.NUMBER_ALPHABET + "-"):
        clauses.append(Order.number.contains(number, autoescape=True))
        if "-" not in number and len(number) == 8:
            clauses.append(Order.number == f"{number[:4]}-{number[4:]}")
    clauses.append(func.lower(Order.email).contains(text.lower(), autoescape=True))
    digits = "".join(c for c in text if c.isdigit()).lstrip("0")  # a national 0 is not in E.164
    if len(digits) >= 4:
        clauses.append(Order.phone.contains(digits, autoescape=True))
    return or_(*clauses)


def cursor_of(order: Order) -> str:
    """Where the next page starts: after this order (its time and id, opaque to the client)."""
    raw = f"{order.created_at.astimezone(UTC).isoformat()}|{order.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None:
            raise ValueError("no offset")
        return at, int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Unprocessable("after is not a cursor this list gave out", field="after") from None


def _items_count() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .where(OrderLine.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )


def summary(order: Order, items: int) -> OrderSummaryOut:
    return OrderSummaryOut(
        number=order.number,
        status=order.status,
        total=money.text(order.total, order.currency),
        currency=order.currency,
        source=order.source,
        needs_attention=order.needs_attention,
        attention_reason=order.attention_reason,
        created_at=order.created_at,
        customer_name=(order.delivery or {}).get("name"),
        email=order.email,
        phone=order.phone,
        items_count=int(items or 0),
        payment_method=order.payment_method,
        test=order.test,
        discount=money.text(order.discount, order.currency),
        refunded=money.text(order.refunded, order.currency),
    )


async def order_page(
    session: AsyncSession, store: Store, filters: OrderFilters, *, limit: int, after: str | None = None
) -> OrderListOut:
    """One page, newest first; `next` is the cursor of the page after it (None on the last)."""
    filters = filters.checked()
    stmt = filters.apply(select(Order, _items_count()).where(Order.store_id == store.id))
    if after:
        at, ident = _after(after)
        stmt = stmt.where(or_(Order.created_at < at, and_(Order.created_at == at, Order.id < ident)))
    rows = (
        await session.execute(stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1))
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return OrderListOut(
        items=[summary(order, items) for order, items in rows],
        next=cursor_of(rows[-1][0]) if more and rows else None,
    )


async def _all_pages(
    session: AsyncSession, store: Store, filters: OrderFilters
) -> AsyncIterator[OrderSummaryOut]:
    after: str | None = None
    while True:
        page = await order_page(session, store, filters, limit=PAGE_MAX, after=after)
        for item in page.items:
            yield item
        if page.next is None:
            return
        after = page.next


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is run as a formula by spreadsheets: quoted as text, except a
    # plain signed number (an E.164 phone number), which no spreadsheet runs.
    formula = text[:1] in ("=", "@") or (text[:1] in ("+", "-") and not text[1:].isdigit())
    return "'" + text if formula else text


async def orders_csv(session: AsyncSession, store: Store, filters: OrderFilters) -> str:
    """The filtered list, every page of it, as CSV (one row per order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async for o in _all_pages(session, store, filters):
        writer.writerow(
            [
                _cell(v)
                for v in (
                    o.number,
                    o.created_at.astimezone(UTC).isoformat(),
                    o.status,
                    o.total,
                    o.currency,
                    o.customer_name,
                    o.email,
                    o.phone,
                    o.items_count,
                    o.payment_method,
                    o.source,
                    "yes" if o.needs_attention else "no",
                    o.attention_reason,
                    o.discount,
                    o.refunded,
                )
            ]
        )
    return buffer.getvalue()
