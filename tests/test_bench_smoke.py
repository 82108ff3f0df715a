"""The benchmark's driver and statement counter, run briefly so `bench/` cannot rot.

Counts and statuses only: no test here asserts a time or a rate."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from bench import driver
from bench.bare_app import PATH as BARE_PATH
from bench.bare_app import app as bare_app
from bench.statements import statements_per_route
from fastapi import FastAPI
from starlette.types import ASGIApp


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[int]:
    """`app` on a real uvicorn server on 127.0.0.1 in this event loop; yields its port."""
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on accepted connections (else 40 ms stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_phases_over_asgi(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    http = driver.HttpxClient(client)
    shop = await driver.discover(http)
    assert shop.skus
    assert shop.policies

    checkouts = await driver.checkout_phase(http, shop, buyers=2, count=4, duration=120)
    assert checkouts.recorder.failed == 0, checkouts.recorder.first_failure
    assert checkouts.completed == 4
    assert len(checkouts.tokens) == 4
    assert len(checkouts.recorder.checkouts) == 4
    assert {route: len(v) for route, v in checkouts.recorder.latencies.items()} == dict.fromkeys(
        driver.CHECKOUT_ROUTES, 4
    )

    prepared, ready = await driver.prepare_phase(http, shop, buyers=2, count=3, duration=120)
    assert prepared.completed == 3
    assert len(ready) == 3
    placed = await driver.order_phase(http, shop, ready, buyers=2, duration=120)
    assert placed.recorder.failed == 0, placed.recorder.first_failure
    assert placed.completed == 3

    tokens = checkouts.tokens + placed.tokens
    reads = await driver.tracking_phase(http, shop, tokens, readers=2, count=5, duration=120)
    assert reads.completed == 5
    assert reads.recorder.failed == 0

    # Each checkout in the bench became exactly one order the operator can see.
    orders = (await client.get("/api/v1/stores/demo/admin/orders", headers=admin)).json()
    assert len(orders["items"]) == 7


async def test_unexpected_answers_are_counted_not_raised(client: httpx.AsyncClient) -> None:
    http = driver.HttpxClient(client)
    shop = driver.Shop("demo", ("NO-SUCH-SKU",), ())
    result = await driver.checkout_phase(http, shop, buyers=1, count=2, duration=120)
    assert result.completed == 0
    assert result.recorder.failures == {f"{driver.OPEN}: HTTP 422": 2}
    assert "items[0].sku" in result.recorder.first_failure[f"{driver.OPEN}: HTTP 422"]


async def test_statements_per_route(app: FastAPI) -> None:
    statements = await statements_per_route(app)
    assert set(statements) == set(driver.CHECKOUT_ROUTES)
    assert all(statements[route] for route in driver.CHECKOUT_ROUTES)
    order_sql = " ".join(statements[driver.ORDER]).upper()
    assert "INSERT INTO ORDERS" in order_sql
    assert "UPDATE PRODUCTS" in order_sql
    assert not any(s.upper().startswith(("BEGIN", "COMMIT")) for sql in statements.values() for s in sql)


async def test_raw_client_on_a_live_server(app: FastAPI) -> None:
    async with serving(app) as port:
        raw = driver.RawClient("127.0.0.1", port, connections=2)
        try:
            shop = await driver.discover(raw)
            result = await driver.checkout_phase(raw, shop, buyers=2, count=3, duration=120)
            assert result.recorder.failed == 0, result.recorder.first_failure
            assert result.completed == 3
            reads = await driver.tracking_phase(raw, shop, result.tokens, readers=2, count=4, duration=120)
            assert reads.completed == 4
        finally:
            await raw.aclose()


async def test_bare_route_with_both_clients() -> None:
    async with serving(bare_app) as port:
        for http in (
            driver.connect("raw", "127.0.0.1", port, 2),
            driver.connect("httpx", "127.0.0.1", port, 2),
        ):
            try:
                result = await driver.route_phase(
                    http, BARE_PATH, connections=2, count=20, duration=120, name="bare"
                )
                assert result.completed == 20
                assert result.recorder.failed == 0
                assert (await http.request("GET", BARE_PATH)).json() == {
                    "status": "ok",
                    "service": "bare starlette",
                }
            finally:
                await http.aclose()
