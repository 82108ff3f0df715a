"""`make bench-ceiling`: ordergate's hot routes beside the lean ceiling (bench/lean_app.py), in one run.

Serves `ordergate serve` (production settings, JSON request log on) and then the lean Starlette +
asyncpg app, each on one uvicorn worker unless `--workers`, and drives both with the same client
(wrk, or the python driver when wrk is missing) with the same connections and duration: tracking
reads, then order placement. Prints each route's rate, p50/p99 and the ratio to the ceiling, the
whole guest checkout of one buyer, the web process's CPU per request and its peak RSS.

    .venv/bin/python bench/ceiling.py                      # PostgreSQL, 1 worker, wrk -c 8 -d 10s
    .venv/bin/python bench/ceiling.py --workers 2
    .venv/bin/python bench/ceiling.py --sqlite             # ordergate on SQLite (the ceiling stays on PG)
    .venv/bin/python bench/ceiling.py --flash-sale         # 1 SKU, 100 in stock, 500 concurrent buyers
    .venv/bin/python bench/ceiling.py --open-pages 1000    # 1,000 tracking pages polling with If-None-Match
    .venv/bin/python bench/ceiling.py --one-buyer          # only one buyer's whole checkouts, step by step
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog
import uvloop
from sqlalchemy.engine import make_url

from bench import driver, flash
from bench.lean_app import prepare as prepare_lean
from bench.run import (
    BENCH_ADMIN_KEY,
    HOST,
    Children,
    cpu_snapshot,
    cpu_usage,
    free_port,
    ordergate_command,
    prepare_ordergate,
    recreate_database,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "replay.lua"
DEFAULT_POSTGRES = os.environ.get("ORDERGATE_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TRACK, ORDER = driver.TRACK, driver.ORDER


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/ceiling.py", description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured route (default 10)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the machine is small)")
    p.add_argument("--workers", type=int, default=1, help="ordergate web processes (default 1)")
    p.add_argument("--sqlite", action="store_true", help="ordergate on SQLite (the lean ceiling stays on PG)")
    p.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    p.add_argument("--placements", type=int, default=12_000, help="ready checkouts per app (default 12,000)")
    p.add_argument("--flash-sale", action="store_true", help="only the flash sale (PostgreSQL)")
    p.add_argument("--open-pages", type=int, default=0, help="only N open tracking pages polling (304s)")
    p.add_argument("--one-buyer", action="store_true", help="only the whole guest checkout of one buyer")
    p.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL (no database name)")
    p.add_argument("--database", default="ordergate_ceiling")
    p.add_argument("--lean-database", default="ordergate_lean")
    p.add_argument("--json", action="store_true", help="also write bench/results/ceiling-<time>.json")
    return p.parse_args(argv)


# --- the client ------------------------------------------------------------------------------------


@dataclass
class Measured:
    """One route driven for a while: rate of expected answers, latency, statuses, server CPU."""

    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    seconds: float
    server_cpu_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_wrk(
    port: int,
    paths: list[str],
    *,
    method: str,
    body: dict[str, Any] | None,
    once: bool,
    connections: int,
    threads: int,
    duration: float,
    workdir: Path,
    expect: int,
    headers: dict[str, str] | None = None,
) -> Measured:
    paths_file = workdir / f"paths-{uuid.uuid4().hex[:8]}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    body_arg = "-"
    if body is not None:
        body_file = workdir / f"body-{uuid.uuid4().hex[:8]}.json"
        body_file.write_text(json.dumps(body))
        body_arg = str(body_file)
    threads = max(1, min(threads, connections))
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv += ["-s", str(LUA), f"http://{HOST}:{port}", "--"]
    argv += [
        str(paths_file),
        method,
        body_arg,
        "once" if once else "cycle",
        uuid.uuid4().hex[:8],
        str(threads),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(
            f"wrk gave no result ({done.returncode}):\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds = data["duration_us"] / 1e6
    good = data["statuses"].get(str(expect), 0)
    return Measured(
        rate=good / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        statuses=data["statuses"],
        seconds=seconds,
        extra={
            "wrk": " ".join([*argv[:-7], "-s", "bench/wrk/replay.lua", f"http://{HOST}:PORT"]),
            "raw": data,
        },
    )


async def run_python(
    port: int,
    paths: list[str],
    *,
    method: str,
    body: dict[str, Any] | None,
    once: bool,
    connections: int,
    duration: float,
    expect: int,
    headers: dict[str, str] | None = None,
) -> Measured:
    client = driver.connect("raw", HOST, port, connections)
    rec = driver.Recorder()
    statuses: dict[str, int] = {}

    async def unit(n: int) -> bool:
        path = paths[n % len(paths)]
        extra = dict(headers or {})
        if body is not None:
            extra["Idempotency-Key"] = uuid.uuid4().hex
        reply = await rec.call(client, "route", method, path, expect=expect, json=body, headers=extra)
        return reply is not None

    try:
        count = len(paths) if once else 10**9
        done, elapsed = await driver.drive(connections, count, duration, unit, recorder=rec)
    finally:
        await client.aclose()
    statuses[str(expect)] = done
    for key, n in rec.failures.items():
        statuses[key] = n
    values = rec.latencies["route"]
    return Measured(
        done / elapsed, driver.percentile(values, 50), driver.percentile(values, 99), statuses, elapsed
    )


async def measure(
    args: argparse.Namespace, pid: int, port: int, paths: list[str], workdir: Path, **kw: Any
) -> Measured:
    pids = [pid, *worker_pids(pid)]
    before = [cpu_snapshot(p) for p in pids]
    if args.client == "wrk":
        result = await asyncio.to_thread(
            run_wrk,
            port,
            paths,
            connections=args.connections,
            threads=args.threads,
            duration=args.duration,
            workdir=workdir,
            **kw,
        )
    else:
        result = await run_python(port, paths, connections=args.connections, duration=args.duration, **kw)
    after = [cpu_snapshot(p) for p in pids]
    seconds = sum(cpu_usage(b, a)["server_seconds"] for b, a in zip(before, after, strict=True))
    answered = sum(result.statuses.values())
    result.server_cpu_ms = 1000 * seconds / answered if answered else None
    return result


# --- processes -------------------------------------------------------------------------------------


def worker_pids(pid: int) -> list[int]:
    """uvicorn's worker processes under a supervisor (none with one worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) among the server and its workers, in MB."""
    peaks = []
    for p in [pid, *worker_pids(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


# --- the run ---------------------------------------------------------------------------------------


async def serve_ordergate(
    args: argparse.Namespace, children: Children, workdir: Path
) -> tuple[Any, int, str]:
    server_url = make_url(args.postgres)
    if args.sqlite:
        database_url = f"sqlite+aiosqlite:///{workdir / 'ordergate.db'}"
    else:
        await recreate_database(server_url, args.database)
        database_url = server_url.set(database=args.database).render_as_string(hide_password=False)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    await prepare_ordergate(
        database_url, {"base_url": base_url, "sandbox": True, "demo": True, "var_dir": workdir / "var"}
    )
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": database_url,
        "ORDERGATE_BASE_URL": base_url,
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_DEMO_ADMIN_KEY": BENCH_ADMIN_KEY,
        "ORDERGATE_VAR_DIR": str(workdir / "var"),
        # Every bench client comes from 127.0.0.1 and stands for many buyers (500 in the flash sale,
        # 1,000 open pages): the per-client cap (128) would refuse them as one client.
        "ORDERGATE_MAX_CONNECTIONS_PER_CLIENT": "1024",
    }
    log = workdir / "ordergate.log"
    argv = [
        *ordergate_command(),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    server = children.start(argv, env=env, log=log)
    await wait_until_up(server, port, "/healthz", log)
    return server, port, database_url


async def serve_lean(
    args: argparse.Namespace, children: Children, workdir: Path
) -> tuple[Any, int, list[str]]:
    server_url = make_url(args.postgres)
    await recreate_database(server_url, args.lean_database)
    dsn = server_url.set(drivername="postgresql", database=args.lean_database).render_as_string(
        hide_password=False
    )
    ids = await prepare_lean(dsn, checkouts=args.placements + 1000)
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.lean_app:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log = workdir / "lean.log"
    server = children.start(argv, env={**os.environ, "ORDERGATE_LEAN_DSN": dsn}, log=log)
    await wait_until_up(server, port, "/healthz", log)
    return server, port, ids


async def hot_routes(
    args: argparse.Namespace, pid: int, port: int, shop: driver.Shop, ready: list[str], workdir: Path
) -> dict[str, Measured]:
    """Place 500 orders to read, then tracking reads (cycling) and placement (each checkout once)."""
    client = driver.connect("raw", HOST, port, args.connections)
    rec = driver.Recorder()
    try:
        seed = await driver.order_phase(client, shop, ready[:500], buyers=args.connections, duration=120)
    finally:
        await client.aclose()
    if seed.recorder.failed or not seed.tokens:
        raise RuntimeError(f"placing the orders to read failed: {seed.recorder.first_failure}")
    del rec
    reads = [f"{shop.base}/orders/{t}" for t in seed.tokens]
    placements = [f"{shop.base}/checkouts/{c}/orders" for c in ready[500:]]
    body = {"payment_method": shop.payment_method, "accepted_policies": list(shop.policies)}
    return {
        TRACK: await measure(
            args, pid, port, reads, workdir, method="GET", body=None, once=False, expect=200
        ),
        ORDER: await measure(
            args, pid, port, placements, workdir, method="POST", body=body, once=True, expect=201
        ),
    }


async def open_ready(port: int, shop: driver.Shop, count: int, connections: int) -> list[str]:
    client = driver.connect("raw", HOST, port, connections)
    try:
        prepared, ready = await driver.prepare_phase(
            client, shop, buyers=connections, count=count, duration=600
        )
    finally:
        await client.aclose()
    if prepared.recorder.failed:
        raise RuntimeError(f"opening checkouts failed: {prepared.recorder.first_failure}")
    return ready


async def bench(args: argparse.Namespace, children: Children, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"options": {k: v for k, v in vars(args).items() if k != "postgres"}}
    print("ordergate: preparing and serving ...", flush=True)
    server, port, database_url = await serve_ordergate(args, children, workdir)
    client = driver.connect("raw", HOST, port, args.connections)
    try:
        shop = await driver.discover(client)
        if args.flash_sale:
            results["flash_sale"] = await flash.flash_sale(args, port, shop, database_url)
            return results
        if args.open_pages:
            results["open_pages"] = await flash.open_pages(args, server.pid, port, shop, workdir)
            return results
        print("ordergate: one buyer, whole checkouts ...", flush=True)
        pids = [server.pid, *worker_pids(server.pid)]
        before = [cpu_snapshot(p) for p in pids]
        solo = await driver.checkout_phase(client, shop, buyers=1, count=400, duration=30, name="one buyer")
        after = [cpu_snapshot(p) for p in pids]
        seconds = sum(cpu_usage(b, a)["server_seconds"] for b, a in zip(before, after, strict=True))
        results["one_buyer_checkout"] = driver.summary(solo.recorder.checkouts)
        results["one_buyer_checkout"]["server_cpu_ms"] = 1000 * seconds / max(1, solo.completed)
        results["one_buyer_steps"] = {
            route: driver.summary(solo.recorder.latencies[route]) for route in driver.CHECKOUT_ROUTES
        }
        if args.one_buyer:
            return results
    finally:
        await client.aclose()
    print(f"ordergate: opening {args.placements + 500} ready checkouts ...", flush=True)
    ready = await open_ready(port, shop, args.placements + 500, args.connections)
    print("ordergate: tracking reads, then placement ...", flush=True)
    ours = await hot_routes(args, server.pid, port, shop, ready, workdir)
    results["ordergate_rss_peak_mb"] = peak_rss_mb(server.pid)
    children.stop(server)

    print("lean ceiling: preparing and serving ...", flush=True)
    lean, lean_port, lean_ready = await serve_lean(args, children, workdir)
    lean_shop = driver.Shop("demo", ("SKU-0",), shop.policies, shop.payment_method)
    print("lean ceiling: tracking reads, then placement ...", flush=True)
    theirs = await hot_routes(args, lean.pid, lean_port, lean_shop, lean_ready, workdir)
    results["lean_rss_peak_mb"] = peak_rss_mb(lean.pid)
    children.stop(lean)
    results["routes"] = {
        route: {
            "ordergate": vars(ours[route]),
            "lean": vars(theirs[route]),
            "ratio": ours[route].rate / theirs[route].rate,
        }
        for route in (TRACK, ORDER)
    }
    return results


def render(results: dict[str, Any]) -> str:
    opts = results["options"]
    db = "SQLite" if opts["sqlite"] else "PostgreSQL"
    out = [
        f"ordergate vs the lean ceiling: {db}, {opts['workers']} web worker(s), client {opts['client']}, "
        f"{opts['connections']} connections, {opts['duration']:g} s per route; "
        f"load average before: {results['load']}",
        "",
        f"{'route':<30}{'ordergate /s':>13}{'p50/p99 ms':>16}{'CPU ms':>8}{'lean /s':>10}{'p50/p99 ms':>16}"
        f"{'CPU ms':>8}{'ratio':>8}",
    ]
    for route, r in results.get("routes", {}).items():
        o, lean = r["ordergate"], r["lean"]

        def cpu(m: dict[str, Any]) -> str:
            return "-" if m["server_cpu_ms"] is None else f"{m['server_cpu_ms']:.2f}"

        def lat(m: dict[str, Any]) -> str:
            return f"{m['p50_ms']:.2f}/{m['p99_ms']:.2f}"

        out.append(
            f"{route:<30}{o['rate']:>13,.0f}{lat(o):>16}{cpu(o):>8}"
            f"{lean['rate']:>10,.0f}{lat(lean):>16}{cpu(lean):>8}{r['ratio']:>7.2f}x"
        )
        for name, m in (("ordergate", o), ("lean", lean)):
            unexpected = {k: v for k, v in m["statuses"].items() if k not in ("200", "201")}
            if unexpected:
                out.append(f"  ! {name} {route}: unexpected answers {unexpected}")
    solo = results.get("one_buyer_checkout")
    if solo:
        out.append(
            f"\nwhole guest checkout, one buyer (open, contact+delivery, quote, place, read; python driver): "
            f"median {solo['p50_ms']:.2f} ms, p99 {solo['p99_ms']:.2f} ms over {solo['count']}; "
            f"web CPU {solo.get('server_cpu_ms', float('nan')):.2f} ms per checkout"
        )
        for route, step in results.get("one_buyer_steps", {}).items():
            out.append(f"  {route:<30} median {step['p50_ms']:.2f} ms, p99 {step['p99_ms']:.2f} ms")
    if "ordergate_rss_peak_mb" in results:
        out.append(
            f"peak RSS of a web process: ordergate {results['ordergate_rss_peak_mb']:.1f} MB, "
            f"lean {results['lean_rss_peak_mb']:.1f} MB"
        )
    if "flash_sale" in results:
        out.append(flash.render_flash(results["flash_sale"]))
    if "open_pages" in results:
        out.append(flash.render_pages(results["open_pages"]))
    out.append("  CPU ms: the web process(es)' CPU time per answered request.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The in-process statement count runs the app here: keep its request log out of the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    children = Children()
    load = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="ordergate-ceiling-") as tmp:
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                results = runner.run(bench(args, children, Path(tmp)))
        finally:
            children.stop_all()
    results["load"] = " ".join(load)
    print()
    print(render(results))
    if args.json:
        from datetime import UTC, datetime

        path = ROOT / "bench" / "results" / f"ceiling-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
