"""Bought-together on a generated order history: precision against baselines, request latency and
statements, and the cost of keeping the counts up to date, all measured in one run.

A store of --products products sells with Zipf-shaped popularity; --pairs planted pairs (a, b) are
bought together: a basket holding a also gets b with probability 0.6. --orders orders are written
as the app writes them (order, lines, a status event), the first 80 % folded into the counts by the
worker's own fold, the last 20 % held out. For each held-out basket of two or more products, each
product alone is the cart and the rest of the basket is what it should suggest.

    .venv/bin/python bench/recommendations.py                      # SQLite file, 20,000 orders
    .venv/bin/python bench/recommendations.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import ordergate
from ordergate import clock
from ordergate.app import create_app
from ordergate.catalog.models import Product
from ordergate.db import migrate
from ordergate.orders.models import Order, OrderEvent, OrderLine
from ordergate.recommendations import suggest
from ordergate.recommendations.counts import BATCH, SETTLE, fold_order_events
from ordergate.settings import Settings
from ordergate.stores.schemas import StoreConfig
from ordergate.stores.service import load_store_config

SLUG = "bench"
PLANTED_PROBABILITY = 0.6
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/recommendations.py", description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=20_000)
    p.add_argument("--products", type=int, default=300)
    p.add_argument("--pairs", type=int, default=40)
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--cases", type=int, default=2000, help="held-out (cart, basket) cases scored")
    p.add_argument("--requests", type=int, default=400, help="timed HTTP requests per route")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--postgres", help="server URL (no database name): runs on PostgreSQL")
    return p.parse_args(argv)


# --- the generated history --------------------------------------------------------------------------


def history(args: argparse.Namespace) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Baskets of product indexes, and the planted pairs."""
    rng = random.Random(args.seed)
    n = args.products
    weights = [1 / (rank + 1) ** 1.1 for rank in range(n)]
    shuffled = rng.sample(range(n), n)
    planted = [(shuffled[2 * i], shuffled[2 * i + 1]) for i in range(args.pairs)]
    partner = dict(planted)
    baskets = []
    for _ in range(args.orders):
        size = 1 + min(int(rng.expovariate(1 / 1.2)), 6)
        basket = set(rng.choices(range(n), weights=weights, k=size))
        for a in list(basket):
            if a in partner and rng.random() < PLANTED_PROBABILITY:
                basket.add(partner[a])
        baskets.append(sorted(basket))
    return baskets, planted


async def write_orders(
    session: AsyncSession,
    store_id: int,
    product_ids: list[int],
    baskets: list[list[int]],
    at: datetime,
    first: int,
) -> None:
    """Orders as checkout writes them (row, lines, the placing status event), in bulk."""
    orders = [
        {
            "store_id": store_id,
            "number": f"B{first + n:09d}",
            "token_hash": f"{first + n:064d}",
            "source": "bench",
            "status": "awaiting_payment",
            "currency": "EUR",
            "subtotal": Decimal("10.00"),
            "shipping": Decimal(0),
            "total": Decimal("10.00"),
            "accepted_policies": [],
            "payment_method": "sandbox",
            "needs_attention": False,
            "created_at": at,
            "updated_at": at,
        }
        for n in range(len(baskets))
    ]
    ids = list((await session.scalars(insert(Order).returning(Order.id), orders)).all())
    await session.execute(
        insert(OrderLine),
        [
            {
                "order_id": order_id,
                "product_id": product_ids[p],
                "sku": f"P{p:04d}",
                "name": f"Product {p}",
                "quantity": 1,
                "unit_price": Decimal("10.00"),
                "line_total": Decimal("10.00"),
            }
            for order_id, basket in zip(ids, baskets, strict=True)
            for p in basket
        ],
    )
    await session.execute(
        insert(OrderEvent),
        [
            {
                "order_id": i,
                "type": "status",
                "to_status": "awaiting_payment",
                "actor": "buyer",
                "data": {},
                "created_at": at,
            }
            for i in ids
        ],
    )


# --- scoring ----------------------------------------------------------------------------------------


def baselines(train: list[list[int]], k: int) -> tuple[list[int], dict[int, list[int]]]:
    """Best-sellers, and raw co-occurrence counts (no normalisation) per product: the floors."""
    popular = [p for p, _ in Counter(p for b in train for p in b).most_common()]
    pairs: dict[int, Counter[int]] = {}
    for basket in train:
        for a in basket:
            for b in basket:
                if a != b:
                    pairs.setdefault(a, Counter())[b] += 1
    raw = {a: [b for b, _ in c.most_common(k)] for a, c in pairs.items()}
    return popular, raw


def precision(picks: list[int], truth: set[int], k: int) -> float:
    return len(set(picks[:k]) & truth) / k


# --- the run ----------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.postgres:
        server = make_url(args.postgres)
        admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text('DROP DATABASE IF EXISTS "ordergate_bench_rec" WITH (FORCE)'))
            await conn.execute(text('CREATE DATABASE "ordergate_bench_rec"'))
        await admin.dispose()
        url = server.set(database="ordergate_bench_rec").render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='og-bench-rec-')}/bench.db"
    await asyncio.to_thread(migrate, url)
    raw = tomllib.loads((Path(ordergate.__file__).parent / "stores" / "demo.toml").read_text())
    raw.update(
        slug=SLUG,
        products=[
            {"sku": f"P{p:04d}", "name": f"Product {p}", "price": "10.00", "stock": 10**9}
            for p in range(args.products)
        ],
    )
    settings = Settings(database_url=url, demo=True, sandbox=True, var_dir=Path(tempfile.mkdtemp()))
    app = create_app(settings)
    results: dict[str, Any] = {"database": "postgresql" if args.postgres else "sqlite", "orders": args.orders}
    async with app.router.lifespan_context(app):
        maker = app.state.sessionmaker
        async with maker() as session, session.begin():
            store = await load_store_config(session, StoreConfig.model_validate(raw))
            store_id = store.id
        async with maker() as session:
            by_sku = {sku: pid for pid, sku in await session.execute(select(Product.id, Product.sku))}
        product_ids = [by_sku[f"P{p:04d}"] for p in range(args.products)]

        baskets, planted = history(args)
        cut = int(len(baskets) * 0.8)
        train, test = baskets[:cut], baskets[cut:]
        past = clock.now() - SETTLE - timedelta(minutes=5)

        # Write the training orders, then fold them as the worker does: the bulk cost per order.
        started = time.perf_counter()
        for start in range(0, len(train), 1000):
            async with maker() as session, session.begin():
                await write_orders(session, store_id, product_ids, train[start : start + 1000], past, start)
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        folded = 0
        while True:
            async with maker() as session, session.begin():
                n = await fold_order_events(session)
            folded += n
            if n < BATCH:
                break
        fold_s = time.perf_counter() - started
        assert folded == len(train), (folded, len(train))
        results["bulk"] = {
            "orders": len(train),
            "write_ms_per_order": 1000 * write_s / len(train),
            "fold_ms_per_order": 1000 * fold_s / len(train),
        }

        # Steady state: a worker pass every few seconds folds the handful of orders placed since.
        writes, folds = [], []
        for n in range(50):
            small = test[n * 4 : n * 4 + 4]
            t0 = time.perf_counter()
            async with maker() as session, session.begin():
                await write_orders(session, store_id, product_ids, small, past, 10**6 + n * 4)
            t1 = time.perf_counter()
            async with maker() as session, session.begin():
                assert await fold_order_events(session) == len(small)
            t2 = time.perf_counter()
            writes.append((t1 - t0) / len(small))
            folds.append((t2 - t1) / len(small))
        # Those 200 orders now count too: take them back out of the held-out set.
        test = test[200:]
        train_all = train + baskets[cut : cut + 200]
        results["steady"] = {
            "passes": 50,
            "orders_per_pass": 4,
            "write_ms_per_order_median": 1000 * statistics.median(writes),
            "fold_ms_per_order_median": 1000 * statistics.median(folds),
        }

        # Precision@k on held-out baskets: the app's ranking beside the two floors.
        k = args.k
        popular, raw_counts = baselines(train_all, k)
        scores: dict[str, list[float]] = {"damped cosine (app)": [], "raw counts": [], "popular": []}
        planted_hits, planted_cases = 0, 0
        partner = dict(planted)
        cases = [(p, set(b) - {p}) for b in test if len(b) > 1 for p in b][: args.cases]
        async with maker() as session:
            for p, truth in cases:
                cart = suggest.Cart(store_id, "EUR", (f"P{p:04d}",))
                found = await suggest.suggestions(session, cart, limit=k)
                picks = [int(i.sku[1:]) for i in found.items]
                scores["damped cosine (app)"].append(precision(picks, truth, k))
                scores["raw counts"].append(precision(raw_counts.get(p, []), truth, k))
                scores["popular"].append(precision([q for q in popular if q != p], truth, k))
                if p in partner and partner[p] in truth:
                    planted_cases += 1
                    planted_hits += partner[p] in picks
        results["precision"] = {
            "k": k,
            "cases": len(cases),
            **{name: statistics.fmean(v) for name, v in scores.items()},
            "planted_pair_in_top_k": planted_hits / planted_cases if planted_cases else None,
            "planted_cases": planted_cases,
        }

        results["http"] = await http_latency(app, args)
    if args.postgres:
        admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text('DROP DATABASE IF EXISTS "ordergate_bench_rec" WITH (FORCE)'))
        await admin.dispose()
    return results


async def http_latency(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Median and p95 of GET recommendations beside GET checkout (the same cart read, the ceiling),
    in-process over ASGI, with the statements each ran."""
    rng = random.Random(args.seed)
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    out: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        ids = []
        for _ in range(20):
            items = [{"sku": f"P{p:04d}", "quantity": 1} for p in rng.sample(range(30), rng.randint(1, 3))]
            r = await http.post(f"/api/v1/stores/{SLUG}/checkouts", json={"items": items})
            ids.append(r.json()["id"])
        for name, suffix in (("checkout (ceiling)", ""), ("recommendations", "/recommendations")):
            times = []
            for n in range(args.requests):
                statements.clear()
                event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
                t0 = time.perf_counter()
                r = await http.get(f"/api/v1/stores/{SLUG}/checkouts/{ids[n % len(ids)]}{suffix}")
                times.append(time.perf_counter() - t0)
                event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
                assert r.status_code == 200, r.text
            times.sort()
            out[name] = {
                "median_ms": 1000 * statistics.median(times),
                "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
                "statements": len(statements),
            }
    return out


def render(results: dict[str, Any]) -> str:
    p, b, s, h = results["precision"], results["bulk"], results["steady"], results["http"]
    lines = [
        f"bought-together on {results['database']}, {results['orders']} generated orders "
        "(80 % history, 20 % held out)",
        f"  precision@{p['k']} over {p['cases']} held-out cases:",
    ]
    for name in ("damped cosine (app)", "raw counts", "popular"):
        lines.append(f"    {name:<20} {p[name]:.3f}")
    if p["planted_pair_in_top_k"] is not None:
        share = p["planted_pair_in_top_k"]
        lines.append(f"    planted partner in the top {p['k']}: {share:.1%} of {p['planted_cases']} cases")
    lines += [
        "  keeping the counts up to date (worker fold) beside writing the orders themselves:",
        f"    bulk   {b['orders']} orders: fold {b['fold_ms_per_order']:.3f} ms/order, "
        f"write {b['write_ms_per_order']:.3f} ms/order",
        f"    steady {s['passes']} passes of {s['orders_per_pass']}: "
        f"fold {s['fold_ms_per_order_median']:.3f} ms/order, "
        f"write {s['write_ms_per_order_median']:.3f} ms/order (medians)",
        "    order placement itself: 0 extra statements (the fold reads the event log later)",
        "  HTTP, in-process (ASGI), one request at a time:",
    ]
    for name, v in h.items():
        lines.append(
            f"    GET {name:<20} median {v['median_ms']:.2f} ms, p95 {v['p95_ms']:.2f} ms, "
            f"{v['statements']} statements"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(render(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
