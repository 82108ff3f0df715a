"""Test fixtures: every database test runs on SQLite and, when reachable, on PostgreSQL.

Schemas are made by the Alembic migrations only. SQLite tests get a copy of a migrated file;
PostgreSQL tests share one migrated database that is truncated before each test."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ordergate import clock
from ordergate.app import create_app
from ordergate.db import migrate
from ordergate.settings import Settings
from tests.factories import ADMIN_KEY, load_demo_store

POSTGRES_URL = os.environ.get(
    "ORDERGATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Mail, SMS and key files each app writes: one folder per test run, removed when it ends.
VAR_ROOT = tempfile.mkdtemp(prefix="ordergate-test-var-")
atexit.register(shutil.rmtree, VAR_ROOT, ignore_errors=True)
PG_TEST_DB = f"ordergate_test_{os.getpid()}"  # one per test run: parallel runs never share


def _postgres_reachable() -> bool:
    parsed = urlparse(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=1):
            pass
    except OSError:
        return False

    async def probe() -> bool:
        engine = create_async_engine(POSTGRES_URL)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("select 1"))
            return True
        except Exception:  # noqa: BLE001 - any connection error means "no PostgreSQL here"
            return False
        finally:
            await engine.dispose()

    return asyncio.run(probe())


POSTGRES = _postgres_reachable()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES else ["sqlite"]


def _pg_url(database: str) -> str:
    parsed = urlparse(POSTGRES_URL)
    return parsed._replace(path=f"/{database}").geturl()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the local server, migrated from nothing once per run, dropped after."""

    async def admin(*statements: str) -> None:
        engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    def run(*statements: str) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:  # fixtures may be set up inside the test loop
            pool.submit(asyncio.run, admin(*statements)).result()

    run(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)", f"CREATE DATABASE {PG_TEST_DB}")
    url = _pg_url(PG_TEST_DB)
    migrate(url)
    yield url
    run(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)")


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "select tablename from pg_tables"
                    " where schemaname = 'public' and tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "ordergate.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    await _truncate(url)
    return url


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def start_of_window(period: int) -> None:
    """Move the app's clock one second into a fresh fixed window of `period` seconds (rate limits
    count in fixed windows: 1 min, 5 min, 15 min, 1 h), so a limit a test drives is not split by a
    window that happens to end mid-test (on a slow machine that was a flaky failure)."""
    elapsed = clock.now().timestamp() % period
    clock.advance(timedelta(seconds=period - elapsed + 1))


@pytest.fixture
def fresh_rate_windows() -> None:
    """The test starts one second into a fresh hour: every rate-limit window begins with it."""
    start_of_window(3600)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "base_url": "http://test",
        "sandbox": True,
        "demo": True,
        "var_dir": Path(tempfile.mkdtemp(dir=VAR_ROOT)),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        maker: async_sessionmaker[AsyncSession] = application.state.sessionmaker
        async with maker() as session, session.begin():
            await load_demo_store(session)
        # The store's NOTIFY is heard before the test starts, not in the middle of what it counts.
        await application.state.store_cache.settle()
        yield application


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}
