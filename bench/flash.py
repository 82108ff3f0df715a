"""Two load shapes of bench/ceiling.py: a flash sale (one SKU, 100 in stock, 500 buyers placing at
once) and open tracking pages (N connections polling their orders with If-None-Match)."""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import driver

HOST = "127.0.0.1"


def raise_fd_limit(wanted: int) -> None:
    """Room for one socket per buyer or page, in this process and the servers and wrk it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def _stock(database_url: str, sku: str, *, add: int | None = None) -> tuple[int, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            if add is not None:
                # Bench setup: exactly `add` units free to sell, whatever earlier orders hold.
                await conn.execute(
                    text("UPDATE products SET on_hand = reserved + :n WHERE sku = :sku"),
                    {"n": add, "sku": sku},
                )
            row = (
                await conn.execute(
                    text("SELECT on_hand, reserved FROM products WHERE sku = :sku"), {"sku": sku}
                )
            ).one()
    finally:
        await engine.dispose()
    return int(row[0]), int(row[1])


async def flash_sale(
    args: argparse.Namespace,
    port: int,
    shop: driver.Shop,
    database_url: str,
    *,
    buyers: int = 500,
    stock: int = 100,
) -> dict[str, Any]:
    """`buyers` ready checkouts of one SKU, placed all at once over `buyers` connections."""
    raise_fd_limit(buyers * 2 + 100)
    sku = shop.skus[0]
    one = driver.Shop(shop.slug, (sku,), shop.policies, shop.payment_method)
    _, reserved_before = await _stock(database_url, sku, add=stock)
    opener = driver.connect("raw", HOST, port, args.connections)
    try:
        prepared, ready = await driver.prepare_phase(
            opener, one, buyers=args.connections, count=buyers, duration=600
        )
    finally:
        await opener.aclose()
    if len(ready) != buyers:
        raise RuntimeError(f"opening the buyers' checkouts failed: {prepared.recorder.first_failure}")
    client = driver.connect("raw", HOST, port, buyers)
    body = {"payment_method": one.payment_method, "accepted_policies": list(one.policies)}
    answers: list[tuple[int, float]] = []
    gate = asyncio.Event()

    async def buy(checkout_id: str) -> None:
        await gate.wait()
        started = time.perf_counter()
        try:
            reply = await client.request(
                "POST",
                f"{one.base}/checkouts/{checkout_id}/orders",
                json=body,
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            status = reply.status
        except (OSError, TimeoutError):
            status = 0
        answers.append((status, time.perf_counter() - started))

    tasks = [asyncio.create_task(buy(c)) for c in ready]
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    await client.aclose()
    _, reserved_after = await _stock(database_url, sku)
    statuses: dict[str, int] = {}
    for status, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    won = [s for st, s in answers if st == 201]
    lost = [s for st, s in answers if st == 409]
    return {
        "buyers": buyers,
        "stock": stock,
        "sold": reserved_after - reserved_before,
        "statuses": statuses,
        "server_errors": sum(n for k, n in statuses.items() if k.startswith("5") or k == "0"),
        "seconds": wall,
        "all": driver.summary([s for _, s in answers]),
        "winners": driver.summary(won),
        "losers": driver.summary(lost),
    }


def render_flash(r: dict[str, Any]) -> str:
    return (
        f"\nflash sale: {r['buyers']} buyers at once, {r['stock']} in stock: {r['sold']} units sold, "
        f"answers {r['statuses']}, {r['server_errors']} 5xx/failed, all done in {r['seconds']:.2f} s\n"
        f"  all p50/p99 {r['all']['p50_ms']:.1f}/{r['all']['p99_ms']:.1f} ms; "
        f"winners (201) p50/p99 {r['winners']['p50_ms']:.1f}/{r['winners']['p99_ms']:.1f} ms; "
        f"losers (409) p50/p99 {r['losers']['p50_ms']:.1f}/{r['losers']['p99_ms']:.1f} ms"
    )


async def open_pages(
    args: argparse.Namespace, pid: int, port: int, shop: driver.Shop, workdir: Path, *, orders: int = 200
) -> dict[str, Any]:
    """`args.open_pages` connections, each a page re-reading its order with the ETag it last saw."""
    from bench.ceiling import measure  # the same measurement as the hot routes

    pages = args.open_pages
    raise_fd_limit(pages * 2 + 100)
    client = driver.connect("raw", HOST, port, args.connections)
    try:
        _, ready = await driver.prepare_phase(
            client, shop, buyers=args.connections, count=orders, duration=600
        )
        placed = await driver.order_phase(client, shop, ready, buyers=args.connections, duration=600)
    finally:
        await client.aclose()
    lines = []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as http:
        for token in placed.tokens:
            path = f"{shop.base}/orders/{token}"
            etag = (await http.get(path)).headers.get("etag")
            lines.append(f"{path}\t{etag}" if etag else path)
    with_etag = sum("\t" in line for line in lines)
    saved = args.connections
    args.connections = pages
    try:
        conditional = await measure(
            args, pid, port, lines, workdir, method="GET", body=None, once=False, expect=304
        )
        if not with_etag:  # no ETag offered: every poll is a full read
            conditional = await measure(
                args, pid, port, lines, workdir, method="GET", body=None, once=False, expect=200
            )
    finally:
        args.connections = saved
    return {"pages": pages, "orders": len(lines), "with_etag": with_etag, "result": vars(conditional)}


def render_pages(r: dict[str, Any]) -> str:
    m = r["result"]
    cpu = m["server_cpu_ms"]
    cost = f"{cpu:.3f} ms of web CPU per poll" if cpu is not None else "CPU not measured"
    every5 = (
        f"; polling every 5 s, {r['pages']} pages take {r['pages'] / 5 * cpu / 10:.1f}% of a core"
        if cpu
        else ""
    )
    return (
        f"\n{r['pages']} open tracking pages ({r['with_etag']} of {r['orders']} orders answered an ETag): "
        f"{m['rate']:,.0f} polls/s answered, statuses {m['statuses']}, "
        f"p50/p99 {m['p50_ms']:.2f}/{m['p99_ms']:.2f} ms, "
        f"{cost}{every5}"
    )
