"""A few of the engine's pooled PostgreSQL connections kept for one-statement reads through asyncpg
itself: the tracking read's fast lane (orders/fastlane.py) costs its SELECT, not a pool checkout and
check-in, a SQLAlchemy connection, cursor and result around it (measured in-process: 0.29 ms of web
CPU per read through `engine.connect()` and `exec_driver_sql`, 0.10 ms through this lane).

The connections are borrowed from the engine's pool when first needed (its URL, connect arguments and
type codecs, within its size), kept between reads, and given back when the lane stops; one that
breaks is invalidated and its place borrowed again on a later read. Outside a transaction asyncpg
runs a statement as its own: no BEGIN, no COMMIT, nothing left open between reads.

Every statement is announced to the engine's cursor events (`before_cursor_execute`, then
`after_cursor_execute`) as SQLAlchemy's own execution announces it, so statement counts (the tests,
bench/statements.py) and any other listener see it; a listener that rewrites the statement or its
parameters (`retval=True`) is obeyed. There is no DBAPI cursor or execution context: listeners are
given None for both.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger("ordergate.readlane")
MAX_KEPT = 4


def lane_size(pool_size: int) -> int:
    """Connections the lane may keep: up to MAX_KEPT, at most half the pool's (at least one)."""
    return max(1, min(MAX_KEPT, pool_size // 2))


class ReadLaneError(Exception):
    """The read could not be made (no connection, a broken one, a database error): the caller
    answers some other way, e.g. through the route, which reports it."""


class _Held:
    __slots__ = ("conn", "driver")

    def __init__(self, conn: AsyncConnection, driver: Any):
        self.conn, self.driver = conn, driver


class ReadLane:
    def __init__(self, engine: AsyncEngine, *, size: int):
        self.engine, self.size = engine, size
        # Each place is a kept connection or None (free: borrow one from the pool when taken). Last in,
        # first out: one reader at a time keeps reusing one connection; only concurrent reads borrow more.
        self._places: asyncio.LifoQueue[_Held | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._places.put_nowait(None)
        self._stopped = False
        self._dropping: set[asyncio.Task[None]] = set()

    async def fetchrow(self, statement: str, *params: Any) -> Any:
        """The first row of one statement (an asyncpg Record), or None."""
        if self._stopped:
            raise ReadLaneError("the read lane is stopped")
        held = await self._take()
        sync_conn = held.conn.sync_connection
        dispatch = self.engine.sync_engine.dispatch
        parameters: Any = params
        if dispatch.before_cursor_execute:
            for fn in dispatch.before_cursor_execute:
                statement, parameters = fn(sync_conn, None, statement, parameters, None, False)
        try:
            row = await held.driver.fetchrow(statement, *parameters)
        except BaseException as exc:
            self._after_failure(held, exc)
            if isinstance(exc, Exception):
                raise ReadLaneError(f"{type(exc).__name__}: {exc}") from exc
            raise
        self._give_back(held)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(sync_conn, None, statement, parameters, None, False)
        return row

    async def _take(self) -> _Held:
        try:
            place = self._places.get_nowait()
        except asyncio.QueueEmpty:
            place = await self._places.get()
        if place is not None:
            return place
        try:
            conn = await self.engine.connect()
        except Exception as exc:
            self._places.put_nowait(None)
            raise ReadLaneError(f"no connection: {type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._places.put_nowait(None)
            raise
        try:
            raw = await conn.get_raw_connection()
        except BaseException:
            self._drop(_Held(conn, None))
            raise
        return _Held(conn, raw.driver_connection)

    def _give_back(self, held: _Held) -> None:
        if self._stopped:
            self._drop(held, invalidate=False)
        else:
            self._places.put_nowait(held)

    def _after_failure(self, held: _Held, exc: BaseException) -> None:
        import asyncpg  # type: ignore[import-untyped]  # loaded already: the engine's driver

        usable = isinstance(exc, asyncpg.PostgresError) and not held.driver.is_closed()
        if usable:  # the server refused this statement; the connection is as good as before
            self._give_back(held)
            return
        log.warning("read lane connection dropped", error=type(exc).__name__)
        self._drop(held)

    def _drop(self, held: _Held, *, invalidate: bool = True) -> None:
        """Give the connection back to the pool (invalidated unless it is known good) in a task of its
        own, so that a cancelled read still returns it; its place is free again at once."""
        if not self._stopped:
            self._places.put_nowait(None)

        async def give_back() -> None:
            with contextlib.suppress(Exception):
                if invalidate:
                    await held.conn.invalidate()
                await held.conn.close()

        task = asyncio.get_running_loop().create_task(give_back())
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def stop(self) -> None:
        """Give every kept connection back to the pool (before the engine is disposed)."""
        self._stopped = True
        while not self._places.empty():
            held = self._places.get_nowait()
            if held is not None:
                self._drop(held, invalidate=False)
        if self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)
