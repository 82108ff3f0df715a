"""Each store's configuration cached per process, dropped in every process when any process changes it.

A change is noticed by the session that flushes it (any Store, Policy, PaymentMethod or Bundle row
written).
On PostgreSQL the changing transaction sends a NOTIFY, delivered to every web process's listening
connection at commit; while that connection is down nothing is cached. On SQLite (one machine) the
committing process replaces a small file beside the database, whose identity each request stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from ordergate.recommendations.models import Bundle
from ordergate.stores.models import PaymentMethod, Policy, Store

CHANNEL = "ordergate_store_config"
# A bundle approved or retired changes prices: it is store configuration as much as a policy is.
CONFIG_ROWS = (Store, Policy, PaymentMethod, Bundle)
log = structlog.get_logger("ordergate.stores")

# Bumped on every change this process commits or hears of: every cached entry older than it is stale.
_generation = 0


def _bump() -> None:
    global _generation
    _generation += 1


def signal_file(url: URL) -> Path | None:
    """The file whose replacement tells SQLite processes to drop their copies (None: in memory)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database)
    return db.with_name(db.name + ".config-version")


def _touch(path: Path) -> None:
    # A new file each time (new inode and mtime), so a stat always tells one version from the next.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, path)


@event.listens_for(Session, "after_flush")
def _note_config_change(session: Session, _context: Any) -> None:
    if not any(isinstance(o, CONFIG_ROWS) for o in (*session.new, *session.dirty, *session.deleted)):
        return
    session.info["store_config_changed"] = True
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Delivered to every listener when (and only if) this transaction commits.
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


@event.listens_for(Session, "after_commit")
def _announce_config_change(session: Session) -> None:
    if not session.info.pop("store_config_changed", False):
        return
    _bump()
    path = signal_file(session.get_bind().engine.url)
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only directory: other processes keep their copies
            _touch(path)


@event.listens_for(Session, "after_rollback")
def _forget_config_change(session: Session) -> None:
    session.info.pop("store_config_changed", None)


class StoreCache:
    """Detached Store objects (policies, payment methods, approved bundles loaded) by slug, per process."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.entries: dict[str, tuple[Store, tuple[int, Any]]] = {}
        self.signal = signal_file(engine.url)
        self.postgres = engine.url.get_backend_name() == "postgresql"
        self.listening = not self.postgres  # PostgreSQL: nothing is cached until the listener is up
        self._listener: Any = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._barriers: dict[str, asyncio.Event] = {}

    def version(self) -> tuple[int, Any]:
        if self.signal is None:
            return (_generation, None)
        try:
            st = os.stat(self.signal)
        except FileNotFoundError:
            return (_generation, None)
        return (_generation, (st.st_ino, st.st_mtime_ns))

    def peek(self, slug: str) -> Store | None:
        """The cached store, when there is a current copy."""
        entry = self.entries.get(slug)
        if entry is not None and self.listening and entry[1] == self.version():
            return entry[0]
        return None

    async def get(self, session: AsyncSession, slug: str) -> Store:
        from ordergate.stores.service import get_store

        cached = self.peek(slug)
        if cached is not None:
            return cached
        version = self.version()  # taken before the read: a change committed meanwhile bumps it
        store = await get_store(session, slug)
        if self.listening:
            # Detached, so that no request's session holds (or expires) what other requests read.
            for row in (*store.policies, *store.payment_methods, *store.offers, store):
                session.expunge(row)
            self.entries[slug] = (store, version)
        return store

    async def start(self) -> None:
        """On PostgreSQL, start listening and wait (briefly) until the listener is up, so the
        process caches from its first request; if it is slow, nothing is cached until it is."""
        if self.postgres:
            self._task = asyncio.create_task(self._listen())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), timeout=5)

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn, server_settings={"application_name": "ordergate-config"})
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: self._heard(payload))
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("store config listener down", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            self._listener = conn
            _bump()  # whatever changed while nobody listened
            self.listening = True
            self._up.set()
            try:
                await lost.wait()
            finally:
                self.listening = False
                self.entries.clear()

    def _heard(self, payload: str) -> None:
        barrier = self._barriers.pop(payload, None)
        if barrier is not None:
            barrier.set()  # our own barrier (settle): no change to anything
        else:
            _bump()

    async def settle(self) -> None:
        """Wait until this process has heard of every change committed before the call: a NOTIFY of
        our own goes through the channel, and PostgreSQL delivers notifications in commit order.
        (Tests call it so that a late notification does not drop the cache mid-measurement.)"""
        if not self.postgres or not self.listening:
            return
        token = f"settle:{secrets.token_hex(8)}"
        barrier = self._barriers[token] = asyncio.Event()
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', '{token}')")
            await conn.commit()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(barrier.wait(), timeout=5)
        self._barriers.pop(token, None)

    async def stop(self) -> None:
        self.listening = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        self.entries.clear()
