"""Concurrency under load on PostgreSQL: `ordergate serve --workers 2` and `ordergate worker`, a store
with 20 s payment windows, buyers placing multi-line orders (lines in random product order), paying
some, letting the rest expire while they keep reloading the tracking page, refreshing expired ones.
Counts every answer; fails on any 5xx, any 409 on a read, a lost or duplicated order, or stock that
does not add up.

    .venv/bin/python bench/load_concurrency.py                  # 180 s, 24 buyers
    .venv/bin/python bench/load_concurrency.py --seconds 20     # the short run the tests use
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ordergate.audit.service import Actor
from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.settings import Settings
from ordergate.stores.config_file import load_store_file
from ordergate.stores.service import add_operator_key, load_store_config

ORDERGATE = str(Path(sys.executable).parent / "ordergate")
DEMO_FILE = Path(__file__).resolve().parent.parent / "src" / "ordergate" / "stores" / "demo.toml"
POSTGRES = os.environ.get("ORDERGATE_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
ADMIN_KEY = "og_loadkey001_" + "l" * 32
WINDOW_SECONDS = 20
DELIVERY = {
    "name": "Ada Lovelace",
    "address_line1": "1 Analytical Row",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}


@dataclass
class Tally:
    sent: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    read_conflicts: list[str] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)  # idempotency key -> order number

    def note(self, method: str, route: str, r: httpx.Response) -> None:
        self.sent += 1
        self.by_status[f"{method} {route} {r.status_code}"] += 1
        if r.status_code >= 500:
            self.server_errors.append(f"{method} {route} {r.status_code} {r.text[:200]}")
        if method == "GET" and r.status_code == 409:
            self.read_conflicts.append(f"{route} {r.text[:200]}")


async def _admin(database: str, *statements: str) -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def prepare(url: str) -> list[str]:
    """The `load` store: the demo's products with plenty of stock, 20 s payment windows."""
    engine = make_engine(Settings(database_url=url, demo=True))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            config = load_store_file(DEMO_FILE).model_copy(
                update={"slug": "load", "payment_window_seconds": WINDOW_SECONDS}
            )
            store = await load_store_config(session, config)
            await add_operator_key(session, store, key=ADMIN_KEY, label="load", actor=Actor.system("load"))
            await session.execute(
                text("UPDATE products SET on_hand = 1000000 WHERE store_id = :s"), {"s": store.id}
            )
            return [p.sku for p in config.products]
    finally:
        await engine.dispose()


async def buyer(
    client: httpx.AsyncClient, skus: list[str], tally: Tally, until: float, tokens: list[str]
) -> None:
    base = "/api/v1/stores/load"
    policies = [f"{p['id']}@{p['version']}" for p in (await client.get(base)).json()["policies"]]
    while time.monotonic() < until:
        lines = random.sample(skus, k=random.randint(1, min(3, len(skus))))
        r = await client.post(
            f"{base}/checkouts",
            json={
                "items": [{"sku": s, "quantity": random.randint(1, 3)} for s in lines],
                "contact": {"email": f"load-{uuid.uuid4().hex[:10]}@example.com"},
                "delivery": DELIVERY,
            },
        )
        tally.note("POST", "checkouts", r)
        if r.status_code != 201:
            continue
        checkout = r.json()["id"]
        key = uuid.uuid4().hex
        place = {"payment_method": "sandbox", "accepted_policies": policies}
        # Sometimes the same placement twice at once (a double click): one order, never two.
        attempts = await asyncio.gather(
            *[
                client.post(
                    f"{base}/checkouts/{checkout}/orders", json=place, headers={"Idempotency-Key": key}
                )
                for _ in range(2 if random.random() < 0.2 else 1)
            ]
        )
        order: dict[str, Any] | None = None
        for answer in attempts:
            tally.note("POST", "checkouts/{id}/orders", answer)
            if answer.status_code in (200, 201):
                order = answer.json()
                previous = tally.placed.setdefault(key, order["number"])
                assert previous == order["number"], "one idempotency key, two orders"
        if order is None:
            continue
        token = order["token"]
        tokens.append(token)
        pays = random.random() < 0.4
        if pays:
            await asyncio.sleep(random.uniform(0, WINDOW_SECONDS * 1.2))  # some pay late, racing expiry
            r = await client.post(
                f"/api/v1/sandbox/stores/load/orders/{token}/payments", json={"confirmations": 2}
            )
            tally.note("POST", "sandbox payments", r)
        else:
            # Reload the tracking page around the end of the window, while the worker expires it.
            deadline = time.monotonic() + WINDOW_SECONDS + random.uniform(0, 6)
            while time.monotonic() < min(deadline, until + WINDOW_SECONDS):
                r = await client.get(f"{base}/orders/{token}")
                tally.note("GET", "orders/{token}", r)
                await asyncio.sleep(random.uniform(0.2, 1.5))
            if random.random() < 0.3 and time.monotonic() < until:
                r = await client.post(f"{base}/orders/{token}/refresh")
                tally.note("POST", "orders/{token}/refresh", r)


async def reader(client: httpx.AsyncClient, tokens: list[str], tally: Tally, until: float) -> None:
    while time.monotonic() < until:
        if not tokens:
            await asyncio.sleep(0.2)
            continue
        r = await client.get(f"/api/v1/stores/load/orders/{random.choice(tokens)}")
        tally.note("GET", "orders/{token}", r)
        await asyncio.sleep(random.uniform(0.01, 0.1))


async def drive(base: str, skus: list[str], *, seconds: float, buyers: int) -> Tally:
    tally, tokens = Tally(), []
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=buyers * 3)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.gather(
            *[buyer(client, skus, tally, until, tokens) for _ in range(buyers)],
            *[reader(client, tokens, tally, until) for _ in range(max(2, buyers // 4))],
        )
    return tally


async def audit(url: str, tally: Tally) -> dict[str, Any]:
    """Orders in the database against those the buyers were told about; stock against open orders."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            store = (await conn.execute(text("SELECT id FROM stores WHERE slug = 'load'"))).scalar_one()
            numbers = set(
                (
                    await conn.execute(text("SELECT number FROM orders WHERE store_id = :s"), {"s": store})
                ).scalars()
            )
            unlinked = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM orders o WHERE o.store_id = :s"
                        " AND NOT EXISTS (SELECT 1 FROM checkouts c WHERE c.order_id = o.id)"
                    ),
                    {"s": store},
                )
            ).scalar_one()
            stock_off = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM products p LEFT JOIN ("
                        " SELECT l.product_id, sum(l.quantity) AS held FROM order_lines l"
                        " JOIN orders o ON o.id = l.order_id WHERE o.status = 'awaiting_payment'"
                        " GROUP BY l.product_id) h ON h.product_id = p.id"
                        " WHERE p.store_id = :s AND p.reserved <> coalesce(h.held, 0)"
                    ),
                    {"s": store},
                )
            ).scalar_one()
            statuses = dict(
                (
                    await conn.execute(
                        text("SELECT status, count(*) FROM orders WHERE store_id = :s GROUP BY status"),
                        {"s": store},
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    told = set(tally.placed.values())
    return {
        "orders_in_database": len(numbers),
        "orders_placed": len(told),
        "lost": len(told - numbers),
        "duplicated": len(numbers - told),
        "orders_without_their_checkout": unlinked,
        "products_with_wrong_reserved_stock": stock_off,
        "order_statuses": statuses,
    }


def run(seconds: float, buyers: int, workdir: Path) -> dict[str, Any]:
    database = f"ordergate_load_{os.getpid()}"
    url = f"{POSTGRES}/{database}"
    asyncio.run(
        _admin(database, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}")
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate(url)
        skus = asyncio.run(prepare(url))
        port = _free_port()
        env = {
            **os.environ,
            "ORDERGATE_DATABASE_URL": url,
            "ORDERGATE_DEMO": "1",
            "ORDERGATE_SANDBOX": "1",
            "ORDERGATE_MCP_HTTP": "0",
            "ORDERGATE_LOG_LEVEL": "warning",
            "ORDERGATE_VAR_DIR": str(workdir / "var"),
            "ORDERGATE_WORKER_INTERVAL_SECONDS": "1",
            "ORDERGATE_GUESSES_PER_CLIENT": "1000000",  # one client address plays every buyer here
        }
        log = (workdir / "load.log").open("wb")
        processes.append(
            subprocess.Popen(
                [ORDERGATE, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=log
            )
        )
        processes.append(subprocess.Popen([ORDERGATE, "worker"], env=env, stdout=log, stderr=log))
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, processes[0])
        started = time.monotonic()
        tally = asyncio.run(drive(base, skus, seconds=seconds, buyers=buyers))
        elapsed = time.monotonic() - started
        time.sleep(3)  # let the worker finish its pass
        result = {
            "seconds": round(elapsed, 1),
            "buyers": buyers,
            "requests_sent": tally.sent,
            "server_errors": len(tally.server_errors),
            "read_conflicts": len(tally.read_conflicts),
            "examples": (tally.server_errors + tally.read_conflicts)[:5],
            "answers": dict(sorted(tally.by_status.items())),
            **asyncio.run(audit(url, tally)),
        }
        errors = [
            line[:400]
            for line in (workdir / "load.log").read_text(errors="replace").splitlines()
            if '"error"' in line or "Traceback" in line or "Error" in line
        ]
        result["server_log_errors"] = len(errors)
        result["server_log_error_examples"] = errors[:8]
        return result
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(_admin(database, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


def _free_port() -> int:
    from bench.run import free_port

    return free_port()


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                time.sleep(2)  # the second web process may still be starting
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.3)
    raise RuntimeError("ordergate serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--buyers", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-load-") as workdir:
        result = run(args.seconds, args.buyers, Path(workdir))
    print(json.dumps(result, indent=2))
    failed = (
        result["server_errors"]
        or result["read_conflicts"]
        or result["lost"]
        or result["duplicated"]
        or result["orders_without_their_checkout"]
        or result["products_with_wrong_reserved_stock"]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
