"""Where assistants reach the tools: stdio for a local assistant (`ordergate agent`), and streamable HTTP
mounted on the web app at /mcp."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from ordergate.db import check_migrated, make_engine, make_sessionmaker
from ordergate.settings import Settings

if TYPE_CHECKING:
    from mcp.server.transport_security import TransportSecuritySettings

MCP_PATH = "/mcp"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Answer only for our own origin (BASE_URL) and the local machine: a page elsewhere that rebinds its
    DNS to this server cannot drive the tools from a buyer's browser."""
    from mcp.server.transport_security import TransportSecuritySettings

    base = urlsplit(settings.base_url)
    hosts = [f"{h}:*" for h in LOCAL_HOSTS] + list(LOCAL_HOSTS)
    origins = [f"http://{h}:*" for h in LOCAL_HOSTS] + [f"http://{h}" for h in LOCAL_HOSTS]
    if base.hostname:
        hosts += [base.netloc, f"{base.hostname}:*", base.hostname]
        origins.append(f"{base.scheme}://{base.netloc}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def mount_agent(app: FastAPI, settings: Settings) -> None:
    """Serve the tools at /mcp (streamable HTTP) on the app's own database sessions.

    Stateless with JSON answers: every request stands alone, so any of N web processes can answer it and
    nothing is kept in memory between requests. The path is a guest path: the request guard strips
    credentials before the tools see the request, and the tools read none. The MCP stack (some 20 MB)
    is imported by the first request to /mcp, not by every web process at start."""
    agent = _LazyAgent(app, settings)
    app.router.routes.insert(0, _NamedRoute(MCP_PATH, endpoint=agent, methods=["POST"], name="mcp"))
    app_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with app_lifespan(application) as state:
            try:
                yield state
            finally:
                await agent.close()

    app.router.lifespan_context = lifespan


class _LazyAgent:
    """The /mcp endpoint, built on its first request: the MCP server and its session manager, which
    then runs (in a task of its own) until the app shuts down."""

    def __init__(self, app: FastAPI, settings: Settings):
        self.app, self.settings = app, settings
        self.endpoint: Any = None
        self.running: AbstractAsyncContextManager[None] | None = None
        self.lock = asyncio.Lock()

    async def _start(self) -> Any:
        from ordergate.agent.server import build_server

        def sessions() -> async_sessionmaker[AsyncSession]:
            maker: async_sessionmaker[AsyncSession] = self.app.state.sessionmaker
            return maker

        server = build_server(self.settings, sessions)
        http = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            max_request_body_size=self.settings.max_body_bytes,
            transport_security=transport_security(self.settings),
        )
        # POST only: stateless, the server never pushes, so GET (a stream that would never carry
        # anything) and DELETE (there is no session to end) are 405, as the transport allows.
        endpoint = next(r.endpoint for r in http.routes if isinstance(r, Route) and r.path == MCP_PATH)
        # The MCP session manager owns a task group for the requests it serves.
        running = _in_own_task(server.session_manager.run())
        await running.__aenter__()
        self.running = running
        return endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.endpoint is None:
            async with self.lock:
                if self.endpoint is None:
                    self.endpoint = await self._start()
        await self.endpoint(scope, receive, send)

    async def close(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            await running.__aexit__(None, None, None)


@asynccontextmanager
async def _in_own_task(context: AbstractAsyncContextManager[None]) -> AsyncIterator[None]:
    """Hold `context` open in a task of its own. A task group must be left by the task that entered
    it, and whoever drives the app's lifespan may start and stop it from two different tasks."""
    entered, leave = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with context:
            entered.set()
            await leave.wait()

    holder = asyncio.create_task(hold(), name="ordergate-mcp-sessions")
    waiter = asyncio.create_task(entered.wait())
    await asyncio.wait({holder, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not entered.is_set():
        waiter.cancel()
        await holder  # raises why it could not start
    try:
        yield
    finally:
        leave.set()
        await holder


class _NamedRoute(Route):
    """A route that names itself in the scope, as API routes do, so logs and metrics say /mcp."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


async def serve_stdio(settings: Settings) -> None:
    """Serve the tools on stdin/stdout until the assistant closes them (`ordergate agent`)."""
    from ordergate.agent.server import build_server

    # stdout carries the protocol: every log line goes to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    engine = make_engine(settings)
    try:
        await check_migrated(engine)
        maker = make_sessionmaker(engine)
        await build_server(settings, lambda: maker).run_stdio_async()
    finally:
        await engine.dispose()
