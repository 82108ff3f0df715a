"""Where the web process's time goes on each hot route: py-spy samples `ordergate serve` (one worker,
production settings) while wrk drives tracking reads, then order placement, then while one buyer checks
out again and again; the collapsed stacks are
summed by layer (SQLAlchemy ORM, Core, asyncpg, FastAPI/pydantic, middleware and logging, ordergate's
own code, the event loop) and by ordergate function.

    .venv/bin/python bench/profile.py                  # PostgreSQL, 8 connections, 8 s per route
    .venv/bin/python bench/profile.py --keep DIR        # also keep the raw collapsed stacks in DIR
    .venv/bin/python bench/profile.py --route POST --native   # placement only, C/Cython frames too
    .venv/bin/python bench/profile.py --route "one buyer"    # one buyer's whole checkouts only
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import structlog
import uvloop

from bench import driver
from bench.ceiling import DEFAULT_POSTGRES, open_ready, run_wrk, serve_ordergate
from bench.run import HOST, Children

# First match wins: a sample is filed under the innermost frame that names a layer.
LAYERS = (
    ("asyncpg", ("asyncpg/",)),
    ("aiosqlite/sqlite3", ("aiosqlite/", "sqlite3/")),
    ("json log (structlog)", ("structlog/", "observability.py")),
    ("metrics (prometheus)", ("prometheus_client/",)),
    ("SQLAlchemy ORM", ("sqlalchemy/orm/",)),
    ("SQLAlchemy Core/engine", ("sqlalchemy/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("FastAPI routing/deps", ("fastapi/",)),
    ("Starlette", ("starlette/",)),
    ("uvicorn/httptools", ("uvicorn/", "httptools/")),
    ("ordergate middleware", ("ordergate/middleware.py",)),
    ("ordergate code", ("ordergate/",)),
    ("event loop/asyncio", ("asyncio/", "uvloop/")),
)


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needles in LAYERS:
            if any(n in frame for n in needles):
                return name
    return "other"


def ordergate_function(stack: str) -> str | None:
    """The outermost ordergate function below the route handler (what the route spends on)."""
    own = [f for f in stack.split(";") if "ordergate/" in f and "middleware.py" not in f]
    name = own[-1].split(" (")[0] if own else None
    return (
        "(outside ordergate's functions: uvicorn, Starlette, FastAPI, middleware)"
        if name == "serve"
        else name
    )


def summarize(collapsed: Path) -> dict[str, Any]:
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a frame name with a line break in it: its rest is on the next line
        n = int(count)
        if "select" in stack.split(";")[-1] and ("uvloop" in stack or "selectors" in stack):
            idle += n
            continue
        total += n
        layers[layer_of(stack)] += n
        fn = ordergate_function(stack)
        if fn:
            functions[fn] += n
    return {"samples": total, "idle": idle, "layers": layers, "functions": functions}


def render(route: str, summary: dict[str, Any], rate: float, top: int = 12) -> str:
    total = summary["samples"] or 1
    out = [f"{route}: {rate:,.0f}/s; {summary['samples']} busy samples (innermost layer, % of busy time)"]
    for name, n in summary["layers"].most_common():
        out.append(f"  {100 * n / total:5.1f}%  {name}")
    out.append("  ordergate functions (inclusive, innermost ordergate frame):")
    for name, n in summary["functions"].most_common(top):
        out.append(f"  {100 * n / total:5.1f}%  {name}")
    return "\n".join(out)


async def main_async(args: argparse.Namespace, children: Children, workdir: Path) -> None:
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        raise SystemExit("py-spy is not installed (make installs it from requirements.lock)")
    pyspy = (
        str(Path(sys.executable).parent / "py-spy")
        if (Path(sys.executable).parent / "py-spy").exists()
        else "py-spy"
    )
    args.workers = 1
    server, port, _ = await serve_ordergate(args, children, workdir)
    client = driver.connect("raw", HOST, port, args.connections)
    try:
        shop = await driver.discover(client)
    finally:
        await client.aclose()
    ready = await open_ready(port, shop, 3000, args.connections)
    client = driver.connect("raw", HOST, port, args.connections)
    try:
        seed = await driver.order_phase(client, shop, ready[:300], buyers=args.connections, duration=120)
    finally:
        await client.aclose()
    body = {"payment_method": shop.payment_method, "accepted_policies": list(shop.policies)}
    work = {
        driver.TRACK: ([f"{shop.base}/orders/{t}" for t in seed.tokens], "GET", None, False, 200),
        driver.ORDER: ([f"{shop.base}/checkouts/{c}/orders" for c in ready[300:]], "POST", body, True, 201),
    }
    for route, (paths, method, payload, once, expect) in work.items():
        if args.route and args.route not in route:
            continue
        out = workdir / f"{route.split()[1].strip('/').replace('/', '_')}.txt"
        spy = spy_on(pyspy, server.pid, out, args)
        await asyncio.sleep(0.5)
        measured = await asyncio.to_thread(
            run_wrk,
            port,
            paths,
            method=method,
            body=payload,
            once=once,
            connections=args.connections,
            threads=1,
            duration=args.duration,
            workdir=workdir,
            expect=expect,
        )
        spy.wait(timeout=60)
        keep(args, out)
        print(render(route, summarize(out), measured.rate), flush=True)
    if not args.route or args.route in ONE_BUYER:
        await one_buyer(args, pyspy, server.pid, port, shop, workdir)
    children.stop(server)


ONE_BUYER = "whole checkout, one buyer"


async def one_buyer(
    args: argparse.Namespace, pyspy: str, pid: int, port: int, shop: driver.Shop, workdir: Path
) -> None:
    """One buyer's whole checkouts back to back (open, contact+delivery, quote, place, read): what
    the web process spends on each, and the median it makes."""
    out = workdir / "one_buyer.txt"
    client = driver.connect("raw", HOST, port, 1)
    try:
        spy = spy_on(pyspy, pid, out, args)
        await asyncio.sleep(0.5)
        phase = await driver.checkout_phase(
            client, shop, buyers=1, count=1_000_000, duration=args.duration, name=ONE_BUYER
        )
        spy.wait(timeout=60)
    finally:
        await client.aclose()
    keep(args, out)
    median = driver.summary(phase.recorder.checkouts)["p50_ms"]
    print(render(f"{ONE_BUYER} (median {median:.2f} ms)", summarize(out), phase.rate), flush=True)


def keep(args: argparse.Namespace, out: Path) -> None:
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, args.keep / out.name)


def spy_on(pyspy: str, pid: int, out: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "-p",
            str(pid),
            "-r",
            "200",
            "--gil",  # only samples holding the GIL: CPU work, not waits on PostgreSQL
            "-f",
            "raw",
            "-o",
            str(out),
            "-d",
            str(int(args.duration) + 1),
            # --native reads C stacks, which needs the process paused at each sample.
            *(["--native"] if args.native else ["--nonblocking"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/profile.py", description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--postgres", default=DEFAULT_POSTGRES)
    p.add_argument("--database", default="ordergate_profile")
    p.add_argument("--keep", type=Path, default=None)
    p.add_argument("--route", default="", help="only routes whose name has this (orders/{token}, one buyer)")
    p.add_argument("--native", action="store_true", help="also sample C/Cython frames (py-spy --native)")
    args = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    children = Children()
    with tempfile.TemporaryDirectory(prefix="ordergate-profile-") as tmp:
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(main_async(args, children, Path(tmp)))
        finally:
            children.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
