"""The lean ceiling: ordergate's two hot routes written lean (Starlette + asyncpg, no ORM, no
middleware), doing the same database work per request, served like ordergate (one uvicorn worker).

- `GET /api/v1/stores/{store}/orders/{token}`: hash the token, one indexed SELECT of the order's
  precomputed JSON tracking document (as large as ordergate's answer), add the token, answer.
- `POST /api/v1/stores/{store}/checkouts/{id}/orders`: one transaction that locks the checkout row,
  reserves stock with the guarded UPDATE, inserts the order, its line, its payment instruction, its
  event and its outbox row, closes the checkout, and answers the tracking document (201).

Its schema (`SCHEMA`) lives in a database of its own; `prepare()` loads products and ready
checkouts. Served with `ORDERGATE_LEAN_DSN=postgresql://... uvicorn bench.lean_app:app`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE lean_products (
    id serial PRIMARY KEY, sku varchar(64) NOT NULL UNIQUE, name varchar(200) NOT NULL,
    price numeric(28, 8) NOT NULL, on_hand integer NOT NULL, reserved integer NOT NULL
);
CREATE TABLE lean_checkouts (
    id_hash varchar(64) PRIMARY KEY, status varchar(16) NOT NULL, items json NOT NULL,
    email varchar(320), delivery json, order_id integer, updated_at timestamptz NOT NULL
);
CREATE TABLE lean_orders (
    id serial PRIMARY KEY, number varchar(16) NOT NULL UNIQUE, token_hash varchar(64) NOT NULL UNIQUE,
    checkout_hash varchar(64), status varchar(20) NOT NULL, currency varchar(3) NOT NULL,
    total numeric(28, 8) NOT NULL, email varchar(320), delivery json, version integer NOT NULL,
    tracking json NOT NULL, created_at timestamptz NOT NULL
);
CREATE TABLE lean_order_lines (
    id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES lean_orders (id),
    product_id integer REFERENCES lean_products (id), sku varchar(64) NOT NULL, name varchar(200) NOT NULL,
    quantity integer NOT NULL, unit_price numeric(28, 8) NOT NULL, line_total numeric(28, 8) NOT NULL
);
CREATE INDEX ix_lean_order_lines_order_id ON lean_order_lines (order_id);
CREATE TABLE lean_payment_instructions (
    id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES lean_orders (id), method varchar(64) NOT NULL,
    asset varchar(16) NOT NULL, amount numeric(28, 8) NOT NULL, destination varchar(200) NOT NULL,
    details json NOT NULL, created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL
);
CREATE INDEX ix_lean_payment_instructions_order_id ON lean_payment_instructions (order_id);
CREATE TABLE lean_order_events (
    id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES lean_orders (id), type varchar(32) NOT NULL,
    to_status varchar(20), actor varchar(32) NOT NULL, data json NOT NULL, created_at timestamptz NOT NULL
);
CREATE INDEX ix_lean_order_events_order_id ON lean_order_events (order_id);
CREATE TABLE lean_outbox (
    id serial PRIMARY KEY, order_id integer REFERENCES lean_orders (id), kind varchar(40) NOT NULL,
    recipient varchar(320) NOT NULL, dedupe_key varchar(200) NOT NULL UNIQUE, state varchar(10) NOT NULL,
    created_at timestamptz NOT NULL
);
"""

STORE = "demo"
CURRENCY = "EUR"
SHIPPING = Decimal("4.90")
PAYMENT_WINDOW = timedelta(hours=1)
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _problem(status: int, title: str, field: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "errors": [{"field": field}]}
    return Response(json.dumps(body), status, media_type="application/problem+json")


async def track(request: Request) -> Response:
    token = request.path_params["token"]
    pool: asyncpg.Pool = request.app.state.pool
    doc = await pool.fetchval("SELECT tracking FROM lean_orders WHERE token_hash = $1", hash_token(token))
    if doc is None:
        return _problem(404, "No such order in this store", "order")
    # The stored document holds no token (tokens are stored hashed): splice it in, as ordergate does.
    body = '{"token":' + json.dumps(token) + "," + doc[1:]
    return Response(body, media_type="application/json")


def _tracking(
    number: str, status: str, now: datetime, line: dict[str, Any], total: Decimal
) -> dict[str, Any]:
    """A document of the same shape and size as ordergate's tracking answer (token spliced in on read)."""
    expires = now + PAYMENT_WINDOW
    subtotal = Decimal(line["line_total"])
    return {
        "number": number,
        "tracking_url": None,
        "store": STORE,
        "status": status,
        "created_at": now.isoformat(),
        "milestones": [
            {"status": "awaiting_payment", "reached_at": now.isoformat()},
            {"status": "funded", "reached_at": None},
            {"status": "shipped", "reached_at": None},
            {"status": "completed", "reached_at": None},
        ],
        "items": [line],
        "totals": {
            "subtotal": _money(subtotal),
            "shipping": _money(SHIPPING),
            "total": _money(total),
            "currency": CURRENCY,
        },
        "payment": {
            "method": "sandbox",
            "kind": "sandbox",
            "asset": CURRENCY,
            "amount": _money(total),
            "destination": "sandbox",
            "uri": None,
            "required_confirmations": 1,
            "confirmations": 0,
            "received_amount": "0.00",
            "remaining_amount": _money(total),
            "expires_at": expires.isoformat(),
            "state": "awaiting",
            "details": {"note": "Sandbox payments: simulate one with the sandbox API or the page's button."},
        },
        "shipments": [],
        "contact_hint": "b•••@e•••.com",
        "ship_to_country": "GB",
        "can_refresh": False,
    }


async def place(request: Request) -> Response:
    checkout_id = request.path_params["checkout_id"]
    body = json.loads(await request.body())
    if not isinstance(body, dict) or not isinstance(body.get("payment_method"), str):
        return _problem(422, "payment_method is required", "payment_method")
    checkout_hash = hash_token(checkout_id)
    token = secrets.token_urlsafe(32)
    number = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    number = f"{number[:4]}-{number[4:]}"
    now = datetime.now(UTC)
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        checkout = await conn.fetchrow(
            "SELECT status, items, email, delivery FROM lean_checkouts WHERE id_hash = $1 FOR UPDATE",
            checkout_hash,
        )
        if checkout is None:
            return _problem(404, "No such checkout", "checkout")
        if checkout["status"] != "open":
            return _problem(409, "This checkout was already placed", "checkout")
        item = json.loads(checkout["items"])[0]
        product = await conn.fetchrow(
            "UPDATE lean_products SET reserved = reserved + $2 "
            "WHERE sku = $1 AND on_hand - reserved >= $2 RETURNING id, name, price",
            item["sku"],
            item["quantity"],
        )
        if product is None:
            return _problem(409, f"Not enough stock of {item['sku']}", "items")
        line_total = product["price"] * item["quantity"]
        total = line_total + SHIPPING
        line = {
            "sku": item["sku"],
            "name": product["name"],
            "quantity": item["quantity"],
            "unit_price": _money(product["price"]),
            "line_total": _money(line_total),
        }
        doc = _tracking(number, "awaiting_payment", now, line, total)
        order_id = await conn.fetchval(
            "INSERT INTO lean_orders (number, token_hash, checkout_hash, status, currency, total, email, "
            "delivery, version, tracking, created_at) "
            "VALUES ($1, $2, $3, 'awaiting_payment', $4, $5, $6, $7, 1, $8, $9) RETURNING id",
            number,
            hash_token(token),
            checkout_hash,
            CURRENCY,
            total,
            checkout["email"],
            checkout["delivery"],
            json.dumps(doc, separators=(",", ":")),
            now,
        )
        await conn.execute(
            "INSERT INTO lean_order_lines "
            "(order_id, product_id, sku, name, quantity, unit_price, line_total) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            order_id,
            product["id"],
            item["sku"],
            product["name"],
            item["quantity"],
            product["price"],
            line_total,
        )
        await conn.execute(
            "INSERT INTO lean_payment_instructions (order_id, method, asset, amount, destination, details, "
            "created_at, expires_at) VALUES ($1, $2, $3, $4, 'sandbox', $5, $6, $7)",
            order_id,
            body["payment_method"],
            CURRENCY,
            total,
            json.dumps(doc["payment"]["details"]),
            now,
            now + PAYMENT_WINDOW,
        )
        await conn.execute(
            "INSERT INTO lean_order_events (order_id, type, to_status, actor, data, created_at) "
            "VALUES ($1, 'status', 'awaiting_payment', 'buyer', $2, $3)",
            order_id,
            json.dumps({"payment_method": body["payment_method"]}),
            now,
        )
        await conn.execute(
            "INSERT INTO lean_outbox (order_id, kind, recipient, dedupe_key, state, created_at) "
            "VALUES ($1, 'order_confirmation', $2, $3, 'pending', $4)",
            order_id,
            checkout["email"] or "",
            f"order:{order_id}:confirmation",
            now,
        )
        await conn.execute(
            "UPDATE lean_checkouts SET status = 'completed', order_id = $2, updated_at = $3 "
            "WHERE id_hash = $1",
            checkout_hash,
            order_id,
            now,
        )
    doc["token"] = token
    return Response(json.dumps(doc, separators=(",", ":")), 201, media_type="application/json")


async def healthz(_request: Request) -> Response:
    return Response('{"status":"ok"}', media_type="application/json")


async def prepare(dsn: str, *, checkouts: int, skus: int = 4) -> list[str]:
    """Create the schema, `skus` products with ample stock, and `checkouts` ready checkouts; returns
    their ids (only their hashes are stored)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        await conn.executemany(
            "INSERT INTO lean_products (sku, name, price, on_hand, reserved) VALUES ($1, $2, $3, $4, 0)",
            [(f"SKU-{n}", f"Product {n}", Decimal("19.50"), 10_000_000) for n in range(skus)],
        )
        ids = [secrets.token_urlsafe(32) for _ in range(checkouts)]
        now = datetime.now(UTC)
        delivery = json.dumps({"name": "Ada Lovelace", "city": "London", "country": "GB"})
        await conn.copy_records_to_table(
            "lean_checkouts",
            records=[
                (
                    hash_token(cid),
                    "open",
                    json.dumps([{"sku": f"SKU-{n % skus}", "quantity": 1}]),
                    f"placer-{n}@example.com",
                    delivery,
                    None,
                    now,
                )
                for n, cid in enumerate(ids)
            ],
            columns=["id_hash", "status", "items", "email", "delivery", "order_id", "updated_at"],
        )
    finally:
        await conn.close()
    return ids


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("ORDERGATE_LEAN_POOL", "10"))
    app.state.pool = await asyncpg.create_pool(os.environ["ORDERGATE_LEAN_DSN"], min_size=size, max_size=size)
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/api/v1/stores/{store}/orders/{token}", track),
        Route("/api/v1/stores/{store}/checkouts/{checkout_id}/orders", place, methods=["POST"]),
    ],
    lifespan=lifespan,
)
