"""Per-process values refreshed in the background (readiness probes, exchange rates).

Each web process keeps its own copy and refreshes it on its own: nothing here must agree across
processes, and every refresh runs as its own task, outside any request's database transaction.
A reader gets the last value at once and, when it is older than the refresh interval, a refresh
is started for the next reader."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from ordergate import clock

T = TypeVar("T")
log = structlog.get_logger("ordergate.payments")


@dataclass(frozen=True)
class Stamped(Generic[T]):
    value: T
    at: datetime


class BackgroundValues(Generic[T]):
    def __init__(self, name: str, *, timeout: float) -> None:
        self.name, self.timeout = name, timeout
        self._values: dict[str, Stamped[T]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def get(self, key: str) -> Stamped[T] | None:
        return self._values.get(key)

    def put(self, key: str, value: T) -> None:
        self._values[key] = Stamped(value, clock.now())

    def refresh_soon(
        self, key: str, fetch: Callable[[], Awaitable[T]], fallback: Callable[[Exception], T]
    ) -> None:
        """Start a refresh unless one is running; without a running event loop, do nothing."""
        if key in self._tasks:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._refresh(key, fetch, fallback))
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def refresh_now(
        self, key: str, fetch: Callable[[], Awaitable[T]], fallback: Callable[[Exception], T]
    ) -> T:
        running = self._tasks.get(key)
        if running is not None:
            await asyncio.shield(running)
        else:
            await self._refresh(key, fetch, fallback)
        return self._values[key].value

    async def _refresh(
        self, key: str, fetch: Callable[[], Awaitable[T]], fallback: Callable[[Exception], T]
    ) -> None:
        try:
            value = await asyncio.wait_for(fetch(), timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - unreachable, timed out, answered nonsense: all mean "not now"
            log.warning(f"{self.name}_failed", error=type(exc).__name__)
            value = fallback(exc)
        self.put(key, value)

    async def settle(self) -> None:
        """Wait for the refreshes under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def clear(self) -> None:
        self._values.clear()
