"""The checkout row, read and written with Core, never through the session's unit of work: a
`Checkout` comes back detached (to read, and to change in memory), and each change is one
`sql.Write`. A checkout is one row, read by its key (the hash of its id, and its store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.checkout.models import Checkout
from ordergate.errors import CheckoutExpired, NotFound
from ordergate.orders.place import NEXT_ORDER_ID
from ordergate.sql import Write, run_writes
from ordergate.stores.models import Store

CHECKOUTS = cast(Table, Checkout.__table__)
_BY_KEY = select(CHECKOUTS).where(
    CHECKOUTS.c.id_hash == bindparam("id_hash"), CHECKOUTS.c.store_id == bindparam("store_id")
)
_LOCK = _BY_KEY.with_for_update()
# PostgreSQL: the checkout's lock also draws its order's id (orders.place.insert_order).
_LOCK_DRAWING = _LOCK.add_columns(NEXT_ORDER_ID.label("drawn_order_id"))
# What a buyer's change to an open checkout writes (one statement shape, whatever changed).
_CHANGEABLE = ("items", "email", "phone", "delivery", "updated_at", "expires_at", "contact_given_at")
# The funnel's "quote shown", stamped by the first quote of an open, unexpired checkout. (Core
# reserves a column's own name for its SET value: the parameters are named otherwise.)
_STAMP_QUOTED = (
    update(CHECKOUTS)
    .where(
        CHECKOUTS.c.id_hash == bindparam("b_id_hash"),
        CHECKOUTS.c.store_id == bindparam("b_store_id"),
        CHECKOUTS.c.status == "open",
        CHECKOUTS.c.quoted_at.is_(None),
        CHECKOUTS.c.expires_at > bindparam("b_now"),
    )
    .values(quoted_at=bindparam("b_now"))
    .returning(*CHECKOUTS.c)
)


async def insert(session: AsyncSession, checkout: Checkout) -> None:
    """Write a new checkout (every column given: `checkout` is complete in memory)."""
    values = {column.key: getattr(checkout, column.key) for column in CHECKOUTS.c}
    await run_writes(await session.connection(), [Write(CHECKOUTS, values)])


async def save_changes(session: AsyncSession, checkout: Checkout) -> None:
    """Write what a buyer may change on a checkout read with `find_checkout(lock=True)`."""
    changes = {name: getattr(checkout, name) for name in _CHANGEABLE}
    write = Write(CHECKOUTS, changes, where={"id_hash": checkout.id_hash})
    await run_writes(await session.connection(), [write])


def close_checkout(checkout: Checkout, *, order_id: int, at: datetime) -> Write:
    """The write that makes a locked checkout (`lock_checkout`) its order's."""
    checkout.status, checkout.order_id, checkout.updated_at = "completed", order_id, at
    return Write(
        CHECKOUTS,
        {"status": "completed", "order_id": order_id, "updated_at": at},
        where={"id_hash": checkout.id_hash},
    )


async def find_checkout(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    *,
    lock: bool = False,
    account_id: int | None = None,
) -> Checkout:
    """The checkout behind an id: 404 when unknown (or another store's, or another account's: guest
    routes pass no account and never see an account's checkout), 410 when expired."""
    checkout, _ = await _read(session, _LOCK if lock else _BY_KEY, store, checkout_id, account_id)
    return checkout


async def lock_checkout(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    *,
    account_id: int | None = None,
    draw: bool = False,
) -> tuple[Checkout, int | None]:
    """`find_checkout(lock=True)`, for a placement (`close_checkout` completes it). With `draw`
    (PostgreSQL), the same statement draws the id of the order the checkout may become."""
    return await _read(session, _LOCK_DRAWING if draw else _LOCK, store, checkout_id, account_id)


async def stamp_quoted(
    session: AsyncSession, store: Store, checkout_id: str, account_id: int | None
) -> Checkout:
    """The checkout behind a quote, with the funnel's "quote shown" stamped the first time: one
    UPDATE ... RETURNING reads and stamps it. A checkout quoted before, expired or unknown is read
    as `find_checkout` reads it. When the checkout turns out not to be this buyer's, the error
    rolls the request's transaction back, and the stamp with it."""
    conn = await session.connection()
    params = {"b_id_hash": security.hash_token(checkout_id), "b_store_id": store.id, "b_now": clock.now()}
    row = (await conn.execute(_STAMP_QUOTED, params)).first()
    if row is None:
        return await find_checkout(session, store, checkout_id, account_id=account_id)
    return _usable(Checkout(**row._mapping), account_id)


async def _read(
    session: AsyncSession, stmt: Select[Any], store: Store, checkout_id: str, account_id: int | None
) -> tuple[Checkout, int | None]:
    params = {"id_hash": security.hash_token(checkout_id), "store_id": store.id}
    row = (await (await session.connection()).execute(stmt, params)).first()
    if row is None:
        return _usable(None, account_id), None
    fields = dict(row._mapping)
    drawn = fields.pop("drawn_order_id", None)
    return _usable(Checkout(**fields), account_id), drawn


def _usable(checkout: Checkout | None, account_id: int | None) -> Checkout:
    if checkout is None or checkout.account_id != account_id:
        raise NotFound("No such checkout", field="checkout")
    if checkout.status == "expired" or (checkout.status == "open" and checkout.expires_at <= clock.now()):
        raise CheckoutExpired("This checkout has expired; start a new one", field="checkout")
    return checkout
