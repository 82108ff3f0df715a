"""Intake throughput: payloads per second through the whole flow (HTTP, signature, raw storage,
mapping, rules, order writes, stock, commit) against a real `ordergate serve` process, on SQLite
and on PostgreSQL.

Phases, each on fresh external ids:
  single  one source (generic), one delivery at a time over one keep-alive connection
  batch   Shopify, WooCommerce and generic deliveries, CONCURRENCY at a time
  csv     `ordergate intake import` of a CSV file (one transaction per order, as the CLI does)
and, in-process, the SQL statements one accepted Shopify create costs.

    .venv/bin/python bench/intake_bench.py [--payloads 2000] [--concurrency 16] [--csv-orders 2000]
                                          [--backends sqlite,postgresql] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ordergate.intake.adapters.generic import sign  # noqa: E402

FIXTURES = ROOT / "tests" / "intake" / "fixtures"
ORDERGATE = str(Path(sys.executable).parent / "ordergate")
SECRET = "bench-intake-secret-0123456789abcdef"  # noqa: S105 (the bench server's own)
ADMIN_KEY = "og_benchintk1_" + "b" * 32
POSTGRES = os.environ.get(
    "ORDERGATE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PG_DB = "ordergate_intake_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment(db: str, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")}
    env.update(
        {
            "ORDERGATE_DATABASE_URL": db,
            "ORDERGATE_DEMO": "1",
            "ORDERGATE_SANDBOX": "1",
            "ORDERGATE_DEMO_INTAKE_SECRET": SECRET,
            "ORDERGATE_DEMO_ADMIN_KEY": ADMIN_KEY,
            "ORDERGATE_LOG_LEVEL": "warning",
            "ORDERGATE_DB_POOL_SIZE": "20",
        }
    )
    if port:
        env["ORDERGATE_PORT"] = str(port)
    return env


def cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [ORDERGATE, *args], env=environment(db), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ordergate {' '.join(args)} failed:\n{done.stderr}")
    return done


async def postgres_url() -> str | None:
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            await conn.execute(text(f"CREATE DATABASE {PG_DB}"))
    except Exception as exc:  # noqa: BLE001 - no server: the PostgreSQL figures are skipped, and said so
        print(f"postgresql: skipped ({type(exc).__name__})")
        return None
    finally:
        await admin.dispose()
    return POSTGRES.rsplit("/", 1)[0] + f"/{PG_DB}"


# --- payloads ---------------------------------------------------------------------------------

SHOPIFY = json.loads((FIXTURES / "shopify_orders_create.json").read_text())
WOO = json.loads((FIXTURES / "woo_order_created.json").read_text())
GENERIC = json.loads((FIXTURES / "generic_order.json").read_text())


def b64_hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def shopify(n: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({**SHOPIFY, "id": 9_000_000_000 + n, "name": f"#B{n}"}).encode()
    return (
        "/api/v1/intake/shopify-demo",
        body,
        {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "fieldnotes-demo.myshopify.com",
            "X-Shopify-Webhook-Id": f"bench-wh-{n}",
            "X-Shopify-Event-Id": f"bench-ev-{n}",
            "X-Shopify-Hmac-Sha256": b64_hmac(body),
        },
    )


def woo(n: int) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({**WOO, "id": 5_000_000 + n, "number": str(5_000_000 + n)}).encode()
    return (
        "/api/v1/intake/woo-demo",
        body,
        {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "https://wholesale.fieldnotes.example/",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": f"bench-{n}",
            "X-WC-Webhook-Signature": b64_hmac(body),
        },
    )


def generic(n: int, prefix: str = "G") -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({**GENERIC, "external_id": f"BENCH-{prefix}-{n}"}).encode()
    signature = sign(SECRET, body, int(time.time()))
    return (
        "/api/v1/intake/generic-demo",
        body,
        {"Content-Type": "application/json", "Ordergate-Signature": signature},
    )


def csv_file(path: Path, orders: int) -> int:
    header = (
        "external_id,status,currency,email,ship_name,address_line1,city,postal_code,country,"
        "sku,quantity,unit_price,total"
    )
    rows = [header]
    for n in range(orders):
        head = f"CSV-{n},paid,EUR,buyer{n}@example.ie,Buyer {n},1 Main Street,Kilkenny,R95 X1Y2,IE"
        rows.append(f"{head},NB-A5-DOT,2,14.50,36.90")
        rows.append(f"CSV-{n},,,,,,,,,PEN-FINE-BLK,1,7.90,")
    path.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


# --- phases -----------------------------------------------------------------------------------


async def timed(
    client: httpx.AsyncClient,
    make: Callable[[int], tuple[str, bytes, dict[str, str]]],
    total: int,
    concurrency: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue = iter(range(total))

    async def worker() -> None:
        for n in queue:
            path, body, headers = make(n)
            started = time.perf_counter()
            r = await client.post(path, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            key = r.json().get("status", str(r.status_code)) if r.status_code == 202 else str(r.status_code)
            statuses[key] = statuses.get(key, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "payloads": total,
        "seconds": round(elapsed, 2),
        "per_second": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "outcomes": statuses,
    }


async def statements_per_create(db: str) -> int:
    """SQL statements for one accepted Shopify create, counted in-process (no BEGIN/COMMIT/SAVEPOINT)."""
    from ordergate.app import create_app
    from ordergate.settings import Settings

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    app = create_app(Settings(database_url=db, demo=True, sandbox=True, demo_intake_secret=SECRET))
    counted: list[str] = []
    async with app.router.lifespan_context(app):

        def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            if (
                not statement.lstrip()
                .upper()
                .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
            ):
                counted.append(statement)

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            path, body, headers = shopify(99_999_999)
            r = await client.post(path, content=body, headers=headers)
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "accepted", r.text
    return len(counted)


async def bench_backend(name: str, db: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    cli(db, "migrate")
    cli(db, "demo")
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        ORDERGATE,
        "serve",
        "--port",
        str(port),
        env=environment(db, port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    results: dict[str, Any] = {}
    try:
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"{name}: the server did not start")
            await timed(client, lambda n: generic(n, "warm"), 50, 1)  # connections, caches, JIT-free warm-up
            results["single"] = await timed(client, generic, args.payloads, 1)

            def mixed(n: int) -> tuple[str, bytes, dict[str, str]]:
                return (shopify, woo, lambda i: generic(i, "B"))[n % 3](n)

            results["batch"] = await timed(client, mixed, args.payloads, args.concurrency)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)

    sheet = work / f"{name}-orders.csv"
    rows = csv_file(sheet, args.csv_orders)
    started = time.perf_counter()
    done = cli(db, "intake", "import", str(sheet), "--source", "csv-demo")
    elapsed = time.perf_counter() - started
    results["csv"] = {
        "orders": args.csv_orders,
        "rows": rows,
        "seconds": round(elapsed, 2),
        "per_second": round(args.csv_orders / elapsed, 1),
        "accepted": "accepted" in done.stdout,
    }
    results["statements_per_create"] = await statements_per_create(db)
    return results


def show(all_results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nintake throughput (payloads/s; batch = {args.concurrency} at a time, one web process)")
    columns = ("backend", "single", "p50 ms", "batch", "p50 ms", "p99 ms", "csv", "SQL/create")
    print(" ".join(f"{c:>10}" for c in columns))
    for name, r in all_results.items():
        single, batch = r["single"], r["batch"]
        values = (name, single["per_second"], single["p50_ms"], batch["per_second"], batch["p50_ms"])
        values += (batch["p99_ms"], r["csv"]["per_second"], r["statements_per_create"])
        print(" ".join(f"{v:>10}" for v in values))
    for name, r in all_results.items():
        print(f"{name}: single {r['single']['outcomes']}, batch {r['batch']['outcomes']}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payloads", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--csv-orders", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ordergate-intake-bench-") as tmp:
        work = Path(tmp)
        runs: dict[str, Callable[[], Awaitable[str | None]]] = {}
        if "sqlite" in args.backends:

            async def sqlite_url() -> str | None:
                return f"sqlite+aiosqlite:///{work}/intake.db"

            runs["sqlite"] = sqlite_url
        if "postgresql" in args.backends:
            runs["postgresql"] = postgres_url
        for name, url in runs.items():
            db = await url()
            if db is None:
                continue
            print(f"{name}: running", flush=True)
            results[name] = await bench_backend(name, db, args, work)
    show(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
