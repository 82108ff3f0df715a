"""Engine, sessions, column types, and the migration check."""

from __future__ import annotations

import ast
import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, Numeric, String, event, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import DateTime, TypeDecorator

from ordergate.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite keeps no offset: store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MoneyType(TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric(28, 8)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(28, 8, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (
            value.normalize() if isinstance(value, Decimal) and dialect.name != "sqlite" else Decimal(value)
        )


def private_sqlite_file(database_url: str) -> None:
    """Create a SQLite database file readable by its owner only (its WAL and shared-memory files
    take the database file's mode); an existing one is narrowed to that too: it holds buyers' data."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists() and part.stat().st_mode & 0o077:
            part.chmod(0o600)


def make_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        private_sqlite_file(settings.database_url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_write_locks(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "ordergate"}},
    )


def _sqlite_write_locks(engine: AsyncEngine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so two writers queue instead of failing mid-way."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from ordergate.wiring import install  # imported here: every package it wires imports this module

    install()  # followers of order moves (accounts' loyalty points) join every process's sessions
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One request, one transaction: committed after the handler returns, rolled back on any error."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


# scope="function": the commit runs when the handler returns, before the response is sent,
# so a failed commit is an error response, never a 201 for an order that does not exist.
Session = Annotated[AsyncSession, Depends(request_session, scope="function")]


def alembic_config(database_url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def migrate(database_url: str, revision: str = "heads") -> None:
    """Upgrade the schema. Synchronous; from inside an event loop it runs on a thread of its own,
    since the migration environment starts a loop of its own."""
    from alembic import command

    private_sqlite_file(database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(database_url), revision)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(database_url), revision).result()


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """Every head of the migration tree (independent domains may each add a branch): each
    revision no other revision names as its `down_revision`. Read from the revision files' own
    assignments (`ast`), not through alembic, which a web process then never imports (about 13 MB
    of modules, alembic and mako); `tests/test_units.py` checks this against alembic's heads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                target: ast.expr = node.target
                value = node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            else:
                continue
            name = target.id if isinstance(target, ast.Name) else ""
            found = ast.literal_eval(value) if name in ("revision", "down_revision") else None
            if name == "revision":
                revisions.add(str(found))
            elif found is not None:
                parents.update([found] if isinstance(found, str) else found)
    return frozenset(revisions - parents)


class DatabaseNotReady(RuntimeError):
    """The database cannot be reached or is not migrated to the code's schema."""


async def schema_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions the database is at (alembic's own table, read without alembic)."""
    async with engine.connect() as conn:
        has_table = await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version"))
        if not has_table:
            return frozenset()
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(row[0]) for row in rows)


async def check_migrated(engine: AsyncEngine) -> None:
    try:
        current = await schema_revisions(engine)
    except Exception as exc:  # any driver error: unreachable host, bad credentials, unreadable file
        raise DatabaseNotReady(
            f"cannot reach the database: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from exc
    heads = head_revisions()
    if current != heads:
        raise DatabaseNotReady(
            f"the database schema is at {', '.join(sorted(current)) or 'nothing'}, "
            f"the code needs {', '.join(sorted(heads))}: run `ordergate migrate`"
        )
