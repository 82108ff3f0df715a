"""ordergate serve | worker | migrate | demo | sandbox pay."""

from __future__ import annotations

import asyncio
import signal
import sys
import tomllib
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ordergate.db import DatabaseNotReady, check_migrated, make_engine, make_sessionmaker, migrate
from ordergate.errors import DomainError
from ordergate.observability import configure_logging
from ordergate.settings import Settings

app = typer.Typer(help="ordergate: guest checkout and order intake for stores.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="Simulate payments for orders paid with the sandbox method.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
out = Console()
err = Console(stderr=True)
T = TypeVar("T")
DEMO_CONFIG = Path(__file__).parent / "stores" / "demo.toml"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise _fail(f"{where}: {first['msg']}") from None


def _run(work: Callable[[Settings], Coroutine[Any, Any, T]], settings: Settings) -> T:
    """Run async CLI work; any database or domain problem is one clear line, not a traceback."""
    try:
        return asyncio.run(work(settings))
    except DatabaseNotReady as exc:
        raise _fail(str(exc)) from None
    except ArgumentError as exc:
        raise _fail(f"ORDERGATE_DATABASE_URL is not a database URL: {exc}") from None
    except DomainError as exc:
        raise _fail(exc.detail) from None
    except (SQLAlchemyError, OSError) as exc:
        raise _fail(f"database error: {str(exc).splitlines()[0]}") from None


async def _ready(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        await check_migrated(engine)
    finally:
        await engine.dispose()


@app.command("migrate")
def migrate_cmd() -> None:
    """Upgrade the database schema to this version of ordergate (safe to run again)."""
    settings = _settings()
    try:
        migrate(settings.database_url)
    except ArgumentError as exc:
        raise _fail(f"ORDERGATE_DATABASE_URL is not a database URL: {exc}") from None
    except Exception as exc:  # alembic wraps driver errors in many types; the first line says what failed
        raise _fail(
            f"migration failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    out.print("database is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default ORDERGATE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ORDERGATE_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Web processes (use PostgreSQL for more than one)")] = 1,
) -> None:
    """Serve the web app and API with uvicorn (refuses an unmigrated database)."""
    import uvicorn

    settings = _settings()
    configure_logging(settings.log_level)
    _run(_ready, settings)
    out.print(f"serving on http://{host or settings.host}:{port or settings.port}")
    uvicorn.run(
        "ordergate.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,  # our own access log names routes, never raw paths with tokens
        log_level="warning",
        lifespan="on",
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one pass and exit")] = False,
) -> None:
    """Run the background worker: checkout and payment-window expiry (run several on PostgreSQL)."""
    from ordergate.worker import run_forever, run_once

    settings = _settings()
    configure_logging(settings.log_level)

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            maker = make_sessionmaker(engine)
            if once:
                result = await run_once(maker)
                out.print(f"expired {result.checkouts_expired} checkouts, {result.orders_expired} orders")
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            out.print(f"worker running every {s.worker_interval_seconds:g}s")
            await run_forever(maker, interval=s.worker_interval_seconds, stop=stop)
        finally:
            await engine.dispose()

    _run(work, settings)


def _load_config(path: Path) -> Any:
    from ordergate.stores.schemas import StoreConfig

    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"{path}: {exc}") from None
    try:
        return StoreConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _fail(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@app.command()
def demo(
    config: Annotated[Path, typer.Option(help="Store file to load")] = DEMO_CONFIG,
) -> None:
    """Load the demo store (products, policies, payment methods) and make sure it has an operator key."""
    from ordergate.stores.service import add_operator_key, has_operator_key, load_store_config

    settings = _settings()
    store_config = _load_config(config)

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                store = await load_store_config(session, store_config)
                wanted = s.demo_admin_key.get_secret_value() if s.demo_admin_key else None
                if wanted is not None:
                    if not await has_operator_key(session, store, wanted):
                        await add_operator_key(session, store, key=wanted, label="ORDERGATE_DEMO_ADMIN_KEY")
                    out.print(
                        f"store {store.slug!r} loaded; operator key: the one in ORDERGATE_DEMO_ADMIN_KEY"
                    )
                elif not await has_operator_key(session, store):
                    key = await add_operator_key(session, store, label="generated by ordergate demo")
                    out.print(f"store {store.slug!r} loaded; operator key (shown once, keep it):")
                    out.print(f"  ORDERGATE_DEMO_ADMIN_KEY={key}", highlight=False, soft_wrap=True)
                else:
                    out.print(f"store {store.slug!r} loaded; its operator key was shown when it was created")
        finally:
            await engine.dispose()

    _run(work, settings)


@sandbox_app.command("pay")
def sandbox_pay(
    token: Annotated[str, typer.Argument(help="The order token (the last part of its tracking link)")],
    store: Annotated[str, typer.Option(help="Store slug")] = "demo",
    confirmations: Annotated[
        int | None, typer.Option(min=0, help="Confirmations (default: as many as required)")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(help="Amount in the asset (default: what is still due)")
    ] = None,
) -> None:
    """Record one simulated incoming payment for a sandbox order."""
    from ordergate.orders.schemas import SandboxPaymentIn
    from ordergate.orders.service import load_order, pay_in_sandbox
    from ordergate.payments.service import active_instruction
    from ordergate.stores.service import get_store

    settings = _settings()
    try:
        value = Decimal(amount) if amount is not None else None
    except InvalidOperation:
        raise _fail(f"--amount {amount!r} is not a number") from None

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                shop = await get_store(session, store)
                order = await load_order(session, shop, token=token)
                instruction = active_instruction(order)
                needed = instruction.required_confirmations if instruction else 1
                data = SandboxPaymentIn(
                    amount=value, confirmations=needed if confirmations is None else confirmations
                )
                view = await pay_in_sandbox(session, shop, token, data, settings=s)
            out.print(
                f"order {view.number}: {view.status}; payment {view.payment.state if view.payment else '-'}",
                highlight=False,
            )
        finally:
            await engine.dispose()

    _run(work, settings)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
