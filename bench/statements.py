"""SQL statements per request, counted in-process: one guest checkout through the ASGI app with a
`before_cursor_execute` listener on its engine (transaction control statements are not counted)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.driver import Client, HttpxClient, Recorder, Reply, discover, guest_checkout

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class _Counting(Recorder):
    """A recorder that files every statement the engine runs under the route being called."""

    def __init__(self) -> None:
        super().__init__()
        self.route: str | None = None
        self.statements: dict[str, list[str]] = defaultdict(list)

    async def call(self, client: Client, route: str, method: str, path: str, **kwargs: Any) -> Reply | None:
        self.route = route
        try:
            return await super().call(client, route, method, path, **kwargs)
        finally:
            self.route = None

    def on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.route is not None and not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.statements[self.route].append(" ".join(statement.split()))


async def statements_per_route(app: FastAPI, store: str = "demo") -> dict[str, list[str]]:
    """The statements each route of one guest checkout runs. `app` must be inside its lifespan, its
    store loaded. A first checkout warms connections and caches; the second one is counted."""
    engine: AsyncEngine = app.state.engine
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        client = HttpxClient(http)
        shop = await discover(client, store)
        warm = Recorder()
        if await guest_checkout(client, shop, warm, 0) is None:
            raise RuntimeError(f"warm-up checkout failed: {dict(warm.failures)} {warm.first_failure}")
        counting = _Counting()
        event.listen(engine.sync_engine, "before_cursor_execute", counting.on_execute)
        try:
            token = await guest_checkout(client, shop, counting, 1)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", counting.on_execute)
        if token is None:
            raise RuntimeError(f"counted checkout failed: {dict(counting.failures)} {counting.first_failure}")
    return dict(counting.statements)
