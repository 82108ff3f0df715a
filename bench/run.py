"""`make bench`: ordergate on PostgreSQL under load, beside pgbench and a bare Starlette route.

Creates a fresh database, migrates it, loads the demo store, counts the SQL statements of one
checkout in-process, serves the app with `ordergate serve` (one uvicorn worker), drives it with
concurrent guest buyers, order placers and tracking readers, then measures the two ceilings on
the same machine: pgbench's TPC-B mix and a bare Starlette JSON route. Prints a table and the
targets of DESIGN.md (pass or not); `--json` also writes bench/results/<time>.json.

    .venv/bin/python bench/run.py                 # full run, about 3 minutes
    .venv/bin/python bench/run.py --quick         # smoke run, under 30 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import structlog
import uvloop
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import driver
from bench.bare_app import PATH as BARE_PATH

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
DEFAULT_POSTGRES = os.environ.get("ORDERGATE_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CLK_TCK = os.sysconf("SC_CLK_TCK")
BENCH_ADMIN_KEY = "og_benchkey01_" + "b" * 32

# DESIGN.md, "Performance targets".
TARGET_CHECKOUT_MS = 30.0
TARGET_CHECKOUTS_PER_S = 200.0
TARGET_ORDER_STATEMENTS = 10
TARGET_RSS_MB = 120.0
NOISE_PCT = 30.0  # % of a core used by anything but the server, PostgreSQL and the driver


# --- options ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark ordergate on PostgreSQL beside pgbench and a bare Starlette route.",
    )
    p.add_argument("--buyers", type=int, default=8, help="concurrent buyers/placers/readers (default 8)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per timed phase (default 20)")
    p.add_argument("--orders", type=int, default=1_000_000, help="at most this many units per phase")
    p.add_argument("--quick", action="store_true", help="short smoke run (under 30 s)")
    p.add_argument("--json", action="store_true", help="also write bench/results/<time>.json")
    p.add_argument("--client", choices=("raw", "httpx"), default="raw", help="the driver's HTTP client")
    p.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL (no database name)")
    p.add_argument(
        "--database", default="ordergate_bench", help="dropped and created (default ordergate_bench)"
    )
    p.add_argument("--pgbench-database", default="pgbench_bench")
    p.add_argument("--pgbench-scale", type=int, default=10)
    p.add_argument("--pgbench-clients", type=int, default=8)
    p.add_argument("--pgbench-jobs", type=int, default=2)
    p.add_argument("--no-ceilings", action="store_true", help="skip pgbench and the bare route")
    args = p.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 2.0)
    if args.buyers < 1 or args.duration <= 0 or args.orders < 1:
        p.error("--buyers, --duration and --orders must be positive")
    for name in (args.database, args.pgbench_database):
        if not NAME.match(name):
            p.error(f"{name!r} is not a plain lower-case database name")
    return args


# --- processes and machine counters ----------------------------------------------------------------


class Children:
    """Every process the bench starts; all are stopped on the way out (errors and Ctrl-C too)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def free_port() -> int:
    """A free port on HOST: the first free one of `ORDERGATE_BENCH_PORTS` ("8700-8799") when set
    (a shared machine where each engineer has a range), else one the kernel picks."""
    first, _, last = os.environ.get("ORDERGATE_BENCH_PORTS", "").partition("-")
    candidates = range(int(first), int(last or first) + 1) if first else range(0, 1)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in ORDERGATE_BENCH_PORTS={os.environ['ORDERGATE_BENCH_PORTS']}")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB: resident now, and its peak."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _proc_cpu(stat: str) -> tuple[str, int]:
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2 :].split()
    return comm, int(rest[11]) + int(rest[12])  # utime + stime, in clock ticks


@dataclass
class CpuSnapshot:
    at: float
    machine_busy: int
    machine_total: int
    server: int
    postgres: int
    driver: float


def cpu_snapshot(server_pid: int | None) -> CpuSnapshot:
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in first]
    idle = ticks[3] + ticks[4]
    server = postgres = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm, used = _proc_cpu((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        if int(entry.name) == server_pid:
            server = used
        elif comm == "postgres":
            postgres += used
    return CpuSnapshot(
        time.perf_counter(), sum(ticks) - idle, sum(ticks), server, postgres, time.process_time()
    )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Percent of one core used by the web process, PostgreSQL and the driver; machine busy in % of all."""
    wall = after.at - before.at or 1e-9
    total = after.machine_total - before.machine_total or 1
    usage = {
        "server_seconds": (after.server - before.server) / CLK_TCK,
        "server_pct": 100 * (after.server - before.server) / CLK_TCK / wall,
        # Backends that exit between the snapshots take their ticks with them: never below zero.
        "postgres_pct": max(0.0, 100 * (after.postgres - before.postgres) / CLK_TCK / wall),
        "driver_pct": 100 * (after.driver - before.driver) / wall,
        "machine_busy_pct": 100 * (after.machine_busy - before.machine_busy) / total,
    }
    # Everything else (kernel networking, and any other work on the machine that skews the figures).
    cores = os.cpu_count() or 1
    usage["other_pct"] = max(
        0.0,
        usage["machine_busy_pct"] * cores - usage["server_pct"] - usage["postgres_pct"] - usage["driver_pct"],
    )
    return usage


# --- database --------------------------------------------------------------------------------------


async def recreate_database(server: URL, name: str) -> str:
    engine = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            version = str(await conn.scalar(text("SHOW server_version")))
    finally:
        await engine.dispose()
    return version


async def prepare_ordergate(database_url: str, settings_kwargs: dict[str, Any]) -> dict[str, list[str]]:
    """Migrate, load the demo store with an operator key, and count one checkout's statements."""
    from bench.statements import statements_per_route
    from ordergate.app import create_app
    from ordergate.audit.service import Actor
    from ordergate.db import migrate
    from ordergate.settings import Settings
    from ordergate.stores.schemas import StoreConfig
    from ordergate.stores.service import add_operator_key, load_store_config

    await asyncio.to_thread(migrate, database_url)
    import tomllib

    import ordergate

    raw = tomllib.loads((Path(ordergate.__file__).parent / "stores" / "demo.toml").read_text())
    settings = Settings(database_url=database_url, **settings_kwargs)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session, session.begin():
            store = await load_store_config(session, StoreConfig.model_validate(raw))
            await add_operator_key(
                session, store, key=BENCH_ADMIN_KEY, label="bench", actor=Actor.system("bench")
            )
        return await statements_per_route(app)


# --- servers ---------------------------------------------------------------------------------------


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def wait_until_up(proc: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if (await client.get(path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not up after 60 s:\n{_tail(log)}")


def ordergate_command() -> list[str]:
    script = Path(sys.executable).parent / "ordergate"
    if script.exists():
        return [str(script)]
    found = shutil.which("ordergate")
    if found is None:
        raise RuntimeError("the `ordergate` command is not installed in this environment")
    return [found]


# --- pgbench ---------------------------------------------------------------------------------------


def pgbench_binary() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


def run_pgbench(server: URL, args: argparse.Namespace, seconds: int) -> dict[str, Any]:
    binary = pgbench_binary()
    if binary is None:
        return {"error": "pgbench not found (Debian: apt-get install postgresql-client)"}
    conn = ["-h", server.host or HOST, "-p", str(server.port or 5432), "-U", server.username or "postgres"]
    env = {**os.environ}
    if server.password:
        env["PGPASSWORD"] = str(server.password)
    init = [binary, "-i", "-q", "-s", str(args.pgbench_scale), *conn, args.pgbench_database]
    load = [
        binary,
        "-c",
        str(args.pgbench_clients),
        "-j",
        str(args.pgbench_jobs),
        "-T",
        str(seconds),
        *conn,
        args.pgbench_database,
    ]
    subprocess.run(init, env=env, check=True, capture_output=True, timeout=600)
    done = subprocess.run(load, env=env, check=True, capture_output=True, text=True, timeout=seconds + 120)
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", done.stdout, re.M)
    latency = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.M)
    if tps is None:
        return {"error": f"no tps line in pgbench output:\n{done.stdout[-1000:]}"}
    shown = [Path(binary).name, *init[1:]], [Path(binary).name, *load[1:]]
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "init_command": " ".join(shown[0]),
        "command": " ".join(shown[1]),
    }


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    children: Children
    workdir: Path
    results: dict[str, Any] = field(default_factory=dict)
    failures: int = 0

    def phase(
        self, result: driver.PhaseResult, cpu: dict[str, float], unit: str, rss: float | None = None
    ) -> dict[str, Any]:
        rec = result.recorder
        self.failures += rec.failed
        entry: dict[str, Any] = {
            "workers": result.workers,
            "unit": unit,
            "completed": result.completed,
            "seconds": round(result.elapsed, 3),
            "rate_per_s": result.rate,
            # The server's CPU time per unit of work: steadier than rates on a busy machine.
            "server_cpu_ms_per_unit": 1000 * cpu["server_seconds"] / result.completed
            if result.completed
            else None,
            "server_rss_mb_after": rss,
            "routes": {route: driver.summary(values) for route, values in rec.latencies.items()},
            "cpu": cpu,
            "failures": dict(rec.failures),
            "first_failures": rec.first_failure,
        }
        if rec.checkouts:
            entry["checkout"] = driver.summary(rec.checkouts)
        self.results.setdefault("phases", {})[result.name] = entry
        for key, count in rec.failures.items():
            print(f"  ! {result.name}: {count} x {key}: {rec.first_failure[key][:200]}", file=sys.stderr)
        return entry


async def bench(run: Run) -> None:
    args, children = run.args, run.children
    server_url = make_url(args.postgres)
    database_url = str(server_url.set(database=args.database).render_as_string(hide_password=False))
    count = args.orders
    solo_count = 40 if args.quick else 300
    step = print

    step(f"preparing database {args.database} ...", flush=True)
    pg_version = await recreate_database(server_url, args.database)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    settings_kwargs: dict[str, Any] = {
        "base_url": base_url,
        "sandbox": True,
        "demo": True,
        "var_dir": run.workdir / "var",
    }
    statements = await prepare_ordergate(database_url, settings_kwargs)
    run.results["statements"] = {route: {"count": len(sql), "sql": sql} for route, sql in statements.items()}
    run.results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": pg_version,
        "kernel": platform.release(),
    }

    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": database_url,
        "ORDERGATE_BASE_URL": base_url,
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_DEMO_ADMIN_KEY": BENCH_ADMIN_KEY,
        "ORDERGATE_VAR_DIR": str(run.workdir / "var"),
    }
    log = run.workdir / "ordergate.log"
    step(f"serving ordergate on {base_url} (1 worker; log {log}) ...", flush=True)
    server = children.start(
        [*ordergate_command(), "serve", "--host", HOST, "--port", str(port)], env=env, log=log
    )
    await wait_until_up(server, port, "/healthz", log)
    run.results["rss_mb_at_start"] = rss_mb(server.pid)[0]

    client = driver.connect(args.client, HOST, port, args.buyers)
    try:
        shop = await driver.discover(client)
        warm = await driver.checkout_phase(
            client, shop, buyers=args.buyers, count=args.buyers * 3, duration=30
        )
        run.failures += warm.recorder.failed
        run.results["rss_mb_after_warm_up"] = rss_mb(server.pid)[0]

        async def measured(coro: Any, unit: str) -> driver.PhaseResult:
            before = cpu_snapshot(server.pid)
            result: driver.PhaseResult = await coro
            run.phase(result, cpu_usage(before, cpu_snapshot(server.pid)), unit, rss_mb(server.pid)[0])
            step(f"  {result.name}: {result.completed} {unit} in {result.elapsed:.1f} s", flush=True)
            return result

        step("one buyer, checkouts back to back ...", flush=True)
        solo = await measured(
            driver.checkout_phase(
                client, shop, buyers=1, count=min(count, solo_count), duration=args.duration, name="one buyer"
            ),
            "checkouts",
        )
        step(f"{args.buyers} buyers, whole checkouts ...", flush=True)
        loaded = await measured(
            driver.checkout_phase(
                client, shop, buyers=args.buyers, count=count, duration=args.duration, name="checkout"
            ),
            "checkouts",
        )
        step(f"{args.buyers} placers, order creation alone (ready checkouts opened first) ...", flush=True)
        prepared, ready = await driver.prepare_phase(
            client, shop, buyers=args.buyers, count=count, duration=args.duration
        )
        run.failures += prepared.recorder.failed
        placed = await measured(
            driver.order_phase(client, shop, ready, buyers=args.buyers, duration=args.duration), "orders"
        )
        tokens = solo.tokens + loaded.tokens + placed.tokens
        step(f"{args.buyers} readers, tracking reads of {len(tokens)} orders ...", flush=True)
        await measured(
            driver.tracking_phase(
                client, shop, tokens, readers=args.buyers, count=count, duration=args.duration
            ),
            "reads",
        )
        current, peak = rss_mb(server.pid)
        run.results["rss_mb"] = {"end": current, "peak": peak}
        run.results["orders_in_database"] = len(tokens)
    finally:
        await client.aclose()
        children.stop(server)

    if args.no_ceilings:
        return
    seconds = max(3, round(args.duration))
    step(f"pgbench TPC-B on {args.pgbench_database} ({seconds} s) ...", flush=True)
    await recreate_database(server_url, args.pgbench_database)
    run.results["pgbench"] = await asyncio.to_thread(run_pgbench, server_url, args, seconds)

    bare_port = free_port()
    bare_log = run.workdir / "bare.log"
    bare_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--host",
        HOST,
        "--port",
        str(bare_port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    step(f"bare Starlette route on port {bare_port} ...", flush=True)
    bare = children.start(bare_cmd, env={**os.environ}, log=bare_log)
    try:
        await wait_until_up(bare, bare_port, BARE_PATH, bare_log)
        bare_client = driver.connect(args.client, HOST, bare_port, args.buyers)
        try:
            await driver.route_phase(
                bare_client, BARE_PATH, connections=args.buyers, count=500, duration=5, name="warm-up"
            )
            before = cpu_snapshot(bare.pid)
            result = await driver.route_phase(
                bare_client,
                BARE_PATH,
                connections=args.buyers,
                count=count,
                duration=args.duration,
                name="bare route",
            )
            run.phase(result, cpu_usage(before, cpu_snapshot(bare.pid)), "requests", rss_mb(bare.pid)[0])
        finally:
            await bare_client.aclose()
    finally:
        children.stop(bare)
    await asyncio.to_thread(drop_pgbench_database, server_url, args.pgbench_database)


def drop_pgbench_database(server: URL, name: str) -> None:
    async def drop() -> None:
        engine = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    asyncio.run(drop())


# --- the report ------------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    phases = results.get("phases", {})
    rows: list[dict[str, Any]] = []

    def row(name: str, value: float | None, goal: float | None, higher_is_better: bool, unit: str) -> None:
        ok = None
        if value is not None and goal is not None and not math.isnan(value):
            ok = value >= goal if higher_is_better else value <= goal
        ratio = value / goal if value is not None and goal else None
        rows.append({"target": name, "value": value, "goal": goal, "ok": ok, "ratio": ratio, "unit": unit})

    solo = phases.get("one buyer", {}).get("checkout", {})
    row("whole guest checkout, median (one buyer)", solo.get("p50_ms"), TARGET_CHECKOUT_MS, False, "ms")
    loaded = phases.get("checkout", {})
    row(
        "completed checkouts/s (one web worker)", loaded.get("rate_per_s"), TARGET_CHECKOUTS_PER_S, True, "/s"
    )
    order_sql = results.get("statements", {}).get(driver.ORDER, {}).get("count")
    row("SQL statements to create an order", order_sql, TARGET_ORDER_STATEMENTS, False, "")
    tps = results.get("pgbench", {}).get("tps")
    row(
        "orders/s vs half pgbench TPC-B",
        phases.get("order creation", {}).get("rate_per_s"),
        tps / 2 if tps else None,
        True,
        "/s",
    )
    bare = phases.get("bare route", {}).get("rate_per_s")
    row(
        "tracking reads/s vs half the bare route",
        phases.get("tracking reads", {}).get("rate_per_s"),
        bare / 2 if bare else None,
        True,
        "/s",
    )
    rss = results.get("rss_mb", {})
    row("web process RSS, peak", rss.get("peak"), TARGET_RSS_MB, False, "MB")
    return rows


def _f(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    m = results.get("machine", {})
    opts = results["options"]
    out.append(
        f"ordergate bench, {results['date']}: {m.get('cpus')} CPUs, Python {m.get('python')}, "
        f"PostgreSQL {m.get('postgres')}, driver client {opts['client']}, {opts['buyers']} concurrent"
    )
    out.append("")
    phases = results.get("phases", {})
    out.append(
        f"{'phase':<16}{'workers':>8}{'done':>8}{'seconds':>8}{'rate/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'web ms/unit':>12}{'web CPU':>9}{'pg CPU':>8}{'driver':>8}{'other':>7}{'RSS MB':>8}"
    )
    for name, ph in phases.items():
        lat = ph.get("checkout") or next(iter(ph["routes"].values()), {})
        cpu = ph["cpu"]
        out.append(
            f"{name:<16}{ph['workers']:>8}{ph['completed']:>8}{ph['seconds']:>8.1f}{ph['rate_per_s']:>10,.1f}"
            f"{_f(lat.get('p50_ms'), 2):>9}{_f(lat.get('p99_ms'), 2):>9}"
            f"{_f(ph['server_cpu_ms_per_unit'], 3):>12}"
            f"{cpu['server_pct']:>8.0f}%{cpu['postgres_pct']:>7.0f}%{cpu['driver_pct']:>7.0f}%"
            f"{cpu['other_pct']:>6.0f}%{_f(ph['server_rss_mb_after']):>8}"
        )
    out.append(
        "  p50/p99: whole checkout (5 requests, its first tracking read included) in the checkout"
        " phases, the one request otherwise."
    )
    out.append("  web ms/unit: CPU time the web process spent per checkout, order, read or request.")
    out.append("  CPU in % of one core: the web process (or the bare server), PostgreSQL, this driver,")
    out.append("  everything else (kernel, other work on the machine: high values make the run noisy).")
    # The bare route's own kernel networking (tens of thousands of requests/s) shows as "other" too.
    noisy = max((ph["cpu"]["other_pct"] for n, ph in phases.items() if n != "bare route"), default=0.0)
    if noisy > NOISE_PCT:
        out.append(
            f"  WARNING: other work on this machine took up to {noisy:.0f}% of a core during a phase: "
            "rates are low and latencies high by that much; rerun on a quiet machine."
        )
    out.append("")
    solo_routes = phases.get("one buyer", {}).get("routes", {})
    loaded = phases.get("checkout", {})
    loaded_routes = loaded.get("routes", {})
    statements = results.get("statements", {})
    head = f"{loaded.get('workers', '-')} buyers"
    out.append(
        f"{'route (/api/v1/stores/{store}...)':<34}{'1 buyer p50/p99 ms':>20}"
        f"{head + ' p50/p99 ms':>22}{'SQL':>6}"
    )
    for route in driver.CHECKOUT_ROUTES:
        s, lo = solo_routes.get(route, {}), loaded_routes.get(route, {})
        sql = statements.get(route, {}).get("count", "-")
        out.append(
            f"{route:<34}{_f(s.get('p50_ms'), 2) + ' / ' + _f(s.get('p99_ms'), 2):>20}"
            f"{_f(lo.get('p50_ms'), 2) + ' / ' + _f(lo.get('p99_ms'), 2):>22}{sql:>6}"
        )
    for label, name in (("whole checkout (5 requests)", "checkout"),):
        s = phases.get("one buyer", {}).get(name, {})
        lo = loaded.get(name, {})
        out.append(
            f"{label:<34}{_f(s.get('p50_ms'), 2) + ' / ' + _f(s.get('p99_ms'), 2):>20}"
            f"{_f(lo.get('p50_ms'), 2) + ' / ' + _f(lo.get('p99_ms'), 2):>22}"
        )
    out.append("")
    rss = results.get("rss_mb")
    if rss:
        out.append(f"web process RSS: {rss['end']:.1f} MB at the end, {rss['peak']:.1f} MB peak")
    pgb = results.get("pgbench")
    if pgb:
        if "tps" in pgb:
            out.append(f"pgbench TPC-B: {pgb['tps']:,.0f} tps ({pgb['command']})")
        else:
            out.append(f"pgbench: {pgb['error']}")
    bare = phases.get("bare route")
    if bare:
        out.append(f"bare Starlette JSON route: {bare['rate_per_s']:,.0f} requests/s on one uvicorn worker")
    out.append("")
    out.append("targets (DESIGN.md):")
    for t in results.get("targets", []):
        mark = {True: "PASS", False: "MISS", None: "n/a "}[t["ok"]]
        ratio = f"  ({t['ratio']:.2f}x of the goal)" if t["ratio"] is not None and t["ok"] is not None else ""
        out.append(
            f"  {mark}  {t['target']:<42} {_f(t['value'])} {t['unit']} "
            f"(goal {'>=' if t['target'].startswith(('completed', 'orders', 'tracking')) else '<='} "
            f"{_f(t['goal'])}){ratio}"
        )
    return "\n".join(out)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the run like Ctrl-C: the servers are stopped on the way out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The in-process statement count runs the app here: keep its request log out of the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = datetime.now(UTC)
    children = Children()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="ordergate-bench-") as tmp:
        run = Run(args, children, Path(tmp))
        run.results["date"] = started.strftime("%Y-%m-%d %H:%M UTC")
        run.results["options"] = {k: v for k, v in vars(args).items() if k not in ("postgres",)} | {
            "postgres": make_url(args.postgres).render_as_string(hide_password=True)
        }
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(bench(run))
        except KeyboardInterrupt:
            print("interrupted; servers stopped", file=sys.stderr)
            return 130
        finally:
            children.stop_all()
            signal.signal(signal.SIGTERM, previous)
    run.results["targets"] = targets(run.results)
    run.results["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    print()
    print(render(run.results))
    if args.json:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{started.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
        path.write_text(json.dumps(run.results, indent=2, default=str) + "\n")
        print(f"\nresults written to {path.relative_to(ROOT)}")
    if run.failures:
        print(f"\n{run.failures} requests failed: the figures above are not trustworthy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
