"""ordergate serve | worker | migrate | demo | sandbox pay."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ordergate.audit.service import Actor
from ordergate.catalog.cli import catalog_app
from ordergate.db import DatabaseNotReady, check_migrated, make_engine, make_sessionmaker, migrate
from ordergate.errors import DomainError
from ordergate.intake.cli import intake_app, load_demo_sources
from ordergate.observability import configure_logging
from ordergate.settings import Settings

app = typer.Typer(help="ordergate: guest checkout and order intake for stores.", no_args_is_help=True)
sandbox_app = typer.Typer(
    help="Simulate payments for orders paid with the sandbox method.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(intake_app, name="intake")
app.add_typer(catalog_app, name="catalog")
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
    except Exception as exc:  # noqa: BLE001 - alembic wraps driver errors in many types; the first line says what failed
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
    from ordergate.serving import raise_open_file_limit, serve_app

    # The app reads its settings again in each process: --host/--port reach it (and BASE_URL's default).
    os.environ.update({k: str(v) for k, v in (("ORDERGATE_HOST", host), ("ORDERGATE_PORT", port)) if v})
    settings = _settings()
    configure_logging(settings.log_level)
    try:
        raise_open_file_limit(settings)
    except (RuntimeError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    _run(_ready, settings)
    out.print(f"serving on http://{settings.host}:{settings.port}; links use {settings.base_url}")
    if settings.base_url_is_default and not settings.demo:
        err.print(f"[yellow]warning:[/] ORDERGATE_BASE_URL is not set: links will use {settings.base_url}")
    serve_app(settings, workers=workers)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one pass and exit")] = False,
) -> None:
    """Run the background worker: expiries and message delivery (run several on PostgreSQL)."""
    from ordergate.notifications.delivery import check_channels
    from ordergate.worker import run_forever, run_once

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        check_channels(settings)  # a bad SMTP or SMS URL stops the worker here, not on every pass
    except ValueError as exc:
        raise _fail(str(exc)) from None

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            maker = make_sessionmaker(engine)
            if once:
                result = await run_once(maker, s)
                out.print(
                    f"expired {result.checkouts_expired} checkouts, {result.orders_expired} orders; "
                    f"sent {result.messages_sent} messages, {result.messages_failed} failed"
                )
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            out.print(f"worker running every {s.worker_interval_seconds:g}s")
            await run_forever(maker, interval=s.worker_interval_seconds, stop=stop, settings=s)
        finally:
            await engine.dispose()

    _run(work, settings)


@app.command()
def agent() -> None:
    """Serve the assistant tools (MCP) over stdio: explain stores, prepare carts, never place orders."""
    from ordergate.agent.transports import serve_stdio

    settings = _settings()
    configure_logging(settings.log_level)
    _run(serve_stdio, settings)


def _load_config(path: Path) -> Any:
    from ordergate.stores.config_file import StoreFileError, load_store_file

    try:
        return load_store_file(path)
    except StoreFileError as exc:
        raise _fail(str(exc)) from None


@app.command()
def demo(
    config: Annotated[Path, typer.Option(help="Store file to load")] = DEMO_CONFIG,
) -> None:
    """Create the demo store (settings, policies, payment methods) or, when it exists, load its
    products only (its settings stay as the console left them); make sure it has an operator key."""
    from ordergate.stores.service import add_operator_key, has_operator_key, load_store_config

    settings = _settings()
    store_config = _load_config(config)

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                store = await load_store_config(session, store_config, keep_settings=True)
                demo = Actor.system("ordergate demo")
                wanted = s.demo_admin_key.get_secret_value() if s.demo_admin_key else None
                if wanted is not None:
                    if not await has_operator_key(session, store, wanted):
                        label = "ORDERGATE_DEMO_ADMIN_KEY"
                        await add_operator_key(session, store, key=wanted, label=label, actor=demo)
                    out.print(
                        f"store {store.slug!r} loaded; operator key: the one in ORDERGATE_DEMO_ADMIN_KEY"
                    )
                elif not await has_operator_key(session, store):
                    label = "generated by ordergate demo"
                    key = await add_operator_key(session, store, label=label, actor=demo)
                    out.print(f"store {store.slug!r} loaded; operator key (shown once, keep it):")
                    out.print(f"  ORDERGATE_DEMO_ADMIN_KEY={key}", highlight=False, soft_wrap=True)
                else:
                    out.print(f"store {store.slug!r} loaded; its operator key was shown when it was created")
                await load_demo_sources(session, store, store_config.sources, settings=s, console=out)
        finally:
            await engine.dispose()

    _run(work, settings)


# A token may begin with "-" (base64url): unknown options are taken as the token, not refused.
@sandbox_app.command("pay", context_settings={"ignore_unknown_options": True})
def sandbox_pay(
    token: Annotated[
        str, typer.Argument(help="The order token, or its whole tracking link (the token is its last part)")
    ],
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

    settings = _settings()
    token = token.rstrip("/").rsplit("/", 1)[-1]
    try:
        value = Decimal(amount) if amount is not None else None
    except InvalidOperation:
        raise _fail(f"--amount {amount!r} is not a number") from None

    async def work(session: Any, shop: Any) -> Any:
        order = await load_order(session, shop, token=token)
        instruction = active_instruction(order)
        needed = instruction.required_confirmations if instruction else 1
        wanted = needed if confirmations is None else confirmations
        data = SandboxPaymentIn(amount=value, confirmations=wanted)
        return await pay_in_sandbox(session, shop, token, data, settings=settings)

    view = _run(lambda s: _with_store(s, store, work), settings)
    p = view.payment
    state = p.state if p else "-"
    if p and p.confirmations_missing:
        state = f"received, waiting for {p.confirmations_missing} more confirmation(s)"
    out.print(f"order {view.number}: {view.status}; payment {state}", highlight=False)


stores_app = typer.Typer(help="Stores: load a store's settings from its TOML file.", no_args_is_help=True)
app.add_typer(stores_app, name="stores")
keys_app = typer.Typer(
    help="Operator API keys: shown once when created, stored hashed (keyed SHA-256; argon2 if set by hand).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@stores_app.command("load")
def stores_load(file: Annotated[Path, typer.Argument(help="The store's TOML file")]) -> None:
    """Validate a store file (errors name the key and line) and create or update the store."""
    from ordergate.stores.service import load_store_config

    settings = _settings()
    config = _load_config(file)

    async def work(s: Settings) -> None:
        engine = make_engine(s)
        try:
            await check_migrated(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                store = await load_store_config(session, config)
                out.print(
                    f"store {store.slug!r} loaded: {len(config.products)} products, "
                    f"{len(config.policies)} policies, {len(config.payment_methods)} payment methods"
                )
        finally:
            await engine.dispose()

    _run(work, settings)


async def _with_store(s: Settings, slug: str, work: Callable[[Any, Any], Coroutine[Any, Any, T]]) -> T:
    from ordergate.stores.service import get_store

    engine = make_engine(s)
    try:
        await check_migrated(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session, await get_store(session, slug))
    finally:
        await engine.dispose()


@keys_app.command("create")
def keys_create(
    store: Annotated[str, typer.Option(help="Store slug")],
    label: Annotated[str, typer.Option(help="Who or what uses this key")] = "",
) -> None:
    """Create an operator key for one store and print it once."""
    from ordergate.stores.service import add_operator_key

    async def work(session: Any, shop: Any) -> str:
        return await add_operator_key(session, shop, label=label, actor=Actor.system("cli"))

    key = _run(lambda s: _with_store(s, store, work), _settings())
    out.print("operator key (shown once; it is stored only as a hash):")
    out.print(key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(store: Annotated[str, typer.Option(help="Store slug")]) -> None:
    """List a store's operator keys (ids and labels; the keys themselves are not kept)."""
    from rich.table import Table

    from ordergate.stores.service import list_operator_keys

    async def work(session: Any, shop: Any) -> list[Any]:
        return await list_operator_keys(session, shop)

    rows = _run(lambda s: _with_store(s, store, work), _settings())
    table = Table("key id", "label", "created", "revoked")
    for row in rows:
        revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
        table.add_row(row.key_id, row.label, row.created_at.isoformat(timespec="seconds"), revoked)
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `ordergate keys list`)")],
    store: Annotated[str, typer.Option(help="Store slug")],
) -> None:
    """Revoke an operator key: it stops working at once."""
    from ordergate.stores.service import revoke_operator_key

    async def work(session: Any, shop: Any) -> Any:
        return await revoke_operator_key(session, shop, key_id, actor=Actor.system("cli"))

    _run(lambda s: _with_store(s, store, work), _settings())
    out.print(f"key {key_id} revoked")


@app.command()
def report(
    store: Annotated[str, typer.Option(help="Store slug")],
    since: Annotated[str, typer.Option(help="Period: 30d, 12h, 2w, or an ISO date")] = "30d",
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the report as CSV here")] = None,
) -> None:
    """The funnel: guest completion rate, guest vs account conversion, order value, drop-off."""
    from rich.table import Table

    from ordergate.analytics.service import funnel_report, parse_since, report_csv

    async def work(session: Any, shop: Any) -> Any:
        return await funnel_report(session, shop, since=parse_since(since))

    result = _run(lambda s: _with_store(s, store, work), _settings())
    table = Table(title=f"{result.store}: {result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC")
    table.add_column("")
    for channel in result.channels:
        table.add_column(channel.channel, justify="right")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    rows: list[tuple[str, Callable[[Any], str]]] = [
        ("checkouts opened", lambda c: str(c.checkouts_opened)),
        ("contact given", lambda c: str(c.contact_given)),
        ("quote shown", lambda c: str(c.quote_shown)),
        ("orders created", lambda c: str(c.orders_created)),
        ("orders funded", lambda c: str(c.orders_funded)),
        ("orders completed", lambda c: str(c.orders_completed)),
        ("completion (created/opened)", lambda c: pct(c.completion_rate)),
        ("funded/created", lambda c: pct(c.funded_rate)),
        ("conversion (funded/opened)", lambda c: pct(c.conversion)),
        (f"average order value ({result.currency})", lambda c: c.average_order_value or "-"),
        (
            "median time to order (s)",
            lambda c: "-" if c.median_seconds_to_order is None else f"{c.median_seconds_to_order:g}",
        ),
    ]
    for label, value in rows:
        table.add_row(label, *(value(c) for c in result.channels))
    out.print(table)
    if csv_file is not None:
        csv_file.write_text(report_csv(result))
        out.print(f"CSV written to {csv_file}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
