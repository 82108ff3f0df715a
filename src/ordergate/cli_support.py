"""What the CLI's command groups share: their consoles, one-line failures, and running a piece of
async work against the configured (and migrated) database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.db import DatabaseNotReady, check_migrated, make_engine, make_sessionmaker
from ordergate.errors import DomainError
from ordergate.observability import configure_logging
from ordergate.settings import Settings

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"{'.'.join(str(p) for p in first['loc']) or 'settings'}: {first['msg']}") from None


def run_with_database(work: Callable[[async_sessionmaker[AsyncSession]], Coroutine[Any, Any, T]]) -> T:
    """Run against the configured database; any database or domain problem is one line, not a traceback."""
    settings = _settings()
    # Tables and reports go to stdout; only warnings are logged, and to stderr.
    configure_logging("warning")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    async def main() -> T:
        engine = make_engine(settings)
        try:
            await check_migrated(engine)
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from None
    except ArgumentError as exc:
        raise fail(f"ORDERGATE_DATABASE_URL is not a database URL: {exc}") from None
    except DomainError as exc:
        raise fail(exc.detail) from None
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"database error: {str(exc).splitlines()[0]}") from None
