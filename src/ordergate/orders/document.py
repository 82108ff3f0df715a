"""The tracking document: an order's tracking answer kept as JSON text on the order row, so a
tracking read is one indexed SELECT; and the order's version, its strong ETag.

Every flush that writes an order or one of its rows (lines, events, shipments, payment instructions
and transactions) gives the order a new version and drops its document, in the same transaction, so
a document is never staler than the row it sits on. The next read renders it again and stores it
(guarded by the version it rendered). Order placement stores it with the order itself.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from ordergate import security
from ordergate.orders.models import Order, OrderEvent, OrderLine, Shipment
from ordergate.payments.models import PaymentInstruction, PaymentTransaction

# Part of every ETag: a new release that renders the document differently changes every ETag.
FORMAT = "t1"
ORDER_ROWS = (OrderLine, OrderEvent, Shipment, PaymentInstruction, PaymentTransaction)


def new_version() -> int:
    # Random rather than +1: two transactions that read the same version and both change the order
    # still leave different versions behind (a counter would give both the same next number).
    return secrets.randbelow(2**31 - 1) + 1


def etag(version: int) -> str:
    return f'"{FORMAT}.{version}"'


def _changed_orders(session: Session) -> tuple[list[Order], set[int]]:
    """Orders this flush changes: loaded ones, and the ids of those only their rows name."""
    loaded: dict[int, Order] = {}
    loose: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Order):
            if obj not in session.new and session.is_modified(obj):
                loaded[id(obj)] = obj
        elif isinstance(obj, ORDER_ROWS):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            order_id = obj.order_id
            if order_id is None:
                continue  # added through its order's collection: that order is in this flush too
            key = session.identity_key(Order, order_id)
            parent = session.identity_map.get(key)
            if parent is None:
                loose.add(order_id)
            elif parent not in session.new:
                loaded[id(parent)] = parent
    return list(loaded.values()), loose


@event.listens_for(Session, "before_flush")
def _stale_documents(session: Session, _context: Any, _instances: Any) -> None:
    orders, loose = _changed_orders(session)
    for order in orders:
        order.version = new_version()
        order.tracking = None
        order.tracking_until = None
    if loose:
        session.connection().execute(
            update(Order)
            .where(Order.id.in_(sorted(loose)))
            .values(version=new_version(), tracking=None, tracking_until=None)
            .execution_options(synchronize_session=False)
        )


_string = json.encoder.encode_basestring_ascii  # a JSON string, as json.dumps spells it


def to_text(view: dict[str, Any]) -> str:
    """The JSON text stored for a tracking answer; the token and the link are left out (tokens are
    only ever stored hashed) and spliced in on every read."""
    kept = {k: v for k, v in view.items() if k not in ("token", "tracking_url")}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def answer(doc: str, *, token: str, tracking_url: str) -> bytes:
    """The tracking answer: the stored document with the token and the link put back first (the
    text json.dumps(..., separators=(",", ":")) gives, without building an encoder per read)."""
    head = '{"token":' + _string(token) + ',"tracking_url":' + _string(tracking_url) + "}"
    return (head[:-1] + "," + doc[1:]).encode() if doc != "{}" else head.encode()


# Built once: a reused statement keeps its cache key, so each read skips rebuilding it.
_READ = select(Order.id, Order.version, Order.tracking, Order.tracking_until).where(
    Order.token_hash == bindparam("token_hash"), Order.store_id == bindparam("store_id")
)


async def read(
    session: AsyncSession, *, store_id: int, token: str
) -> tuple[int, int, str | None, datetime | None] | None:
    """(order id, version, document, valid until) of the store's order with this token: one
    indexed SELECT. None when there is no such order.

    On PostgreSQL, before the request's transaction has begun, the SELECT runs on its own in
    autocommit (one statement is one transaction: no BEGIN and COMMIT round trips); a caller that
    goes on to change anything does so in the request's transaction, reading again there."""
    params = {"token_hash": security.hash_token(token), "store_id": store_id}
    engine = session.bind
    if (
        isinstance(engine, AsyncEngine)
        and engine.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await auto.execute(_READ, params)).one_or_none()
    else:
        row = (await session.execute(_READ, params)).one_or_none()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def keep(
    session: AsyncSession, *, order_id: int, version: int, doc: str, until: datetime | None
) -> None:
    """Store a freshly rendered document, unless the order changed since it was read."""
    await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.version == version)
        .values(tracking=doc, tracking_until=until)
        .execution_options(synchronize_session=False)
    )


def valid_until(status: str, awaiting: str, expiries: Iterable[datetime]) -> datetime | None:
    """Until when a rendered document stays right without any change: an order awaiting payment
    turns on its payment window's end (the payment's state and the expiry depend on the clock)."""
    if status != awaiting:
        return None
    return min(expiries, default=None)
