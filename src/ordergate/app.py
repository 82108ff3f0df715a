"""create_app(settings) -> FastAPI: routers, middleware, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ordergate import __version__, service_api
from ordergate.accounts.api import guest as accounts_guest
from ordergate.accounts.api import router as accounts_router
from ordergate.accounts.pages import router as accounts_pages
from ordergate.analytics.api import router as analytics_router
from ordergate.api_docs import install_api_docs
from ordergate.business_metrics import BusinessGauges
from ordergate.catalog.admin_api import router as catalog_operator
from ordergate.catalog.api import router as catalog_router
from ordergate.checkout.api import router as checkout_router
from ordergate.console.pages import mount_console
from ordergate.db import check_migrated, make_engine, make_sessionmaker
from ordergate.db_retry import RetryConflicts
from ordergate.errors import install_handlers
from ordergate.guessing import GuessThrottle
from ordergate.intake.api import channels as intake_channels
from ordergate.intake.api import operator as intake_operator
from ordergate.middleware import RequestGuard
from ordergate.notifications.api import guest as notifications_guest
from ordergate.notifications.api import operator as notifications_operator
from ordergate.orders.api import guest as orders_guest
from ordergate.orders.api import operator as orders_operator
from ordergate.orders.api import sandbox as orders_sandbox
from ordergate.orders.fastlane import TrackingFastLane
from ordergate.payments.api import callbacks as payments_callbacks
from ordergate.payments.api import guest as payments_guest
from ordergate.payments.api import operator as payments_operator
from ordergate.payments.providers import check_payment_methods
from ordergate.payments.refund_api import router as refunds_operator
from ordergate.readlane import ReadLane, lane_size
from ordergate.recommendations.admin_api import router as bundles_operator
from ordergate.recommendations.api import account as recommendations_account
from ordergate.recommendations.api import guest as recommendations_guest
from ordergate.recommendations.pages import account_router as recommendations_account_pages
from ordergate.recommendations.pages import router as recommendations_pages
from ordergate.settings import Settings
from ordergate.stores.api import operator as stores_operator
from ordergate.stores.api import router as stores_router
from ordergate.stores.cache import StoreCache
from ordergate.web.pages import mount_pages


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            await check_migrated(engine)  # refuse to serve an unmigrated database
        except BaseException:
            await engine.dispose()
            raise
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.store_cache = StoreCache(engine)
        # PostgreSQL: a few pooled connections kept for the tracking read's SELECT (orders/fastlane.py).
        postgres = app.state.store_cache.postgres
        lane = ReadLane(engine, size=lane_size(settings.db_pool_size)) if postgres else None
        app.state.read_lane = lane
        await check_payment_methods(app.state.sessionmaker)  # provider readiness known from the start
        await app.state.store_cache.start()
        try:
            yield
        finally:
            await app.state.store_cache.stop()
            if lane is not None:
                await lane.stop()
            await engine.dispose()

    app = FastAPI(
        title="ordergate",
        version=__version__,
        summary="Guest checkout and governed order intake",
        lifespan=lifespan,
        docs_url=None,  # served by install_api_docs, from local assets
        redoc_url=None,
        # No OpenTelemetry bridge: requests are reported by the JSON log and Prometheus metrics
        # (middleware.py), and the bridge looked for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.business_gauges = BusinessGauges(settings.metrics_refresh_seconds)
    install_handlers(app)
    install_api_docs(app)
    # Guest routers first, mounted without any auth dependency.
    for router in (stores_router, catalog_router, checkout_router, orders_guest, orders_sandbox):
        app.include_router(router)
    app.include_router(recommendations_guest)  # suggestions for a cart: a guest route, no auth dependency
    app.include_router(notifications_guest)  # lost-link recovery: a guest route, no auth dependency
    app.include_router(accounts_guest)  # guest to account: reads no credentials, may set the session
    app.include_router(accounts_router)  # the signed-in buyer's API: the only API reading the session
    app.include_router(recommendations_account)  # the signed-in buyer's search and suggestions
    app.include_router(payments_guest)  # opens a BTCPay/Stripe instruction for the order's token holder
    app.include_router(payments_callbacks)  # provider callbacks: signature-verified, no auth dependency
    app.include_router(payments_operator)
    app.include_router(orders_operator)
    app.include_router(catalog_operator)
    app.include_router(bundles_operator)
    app.include_router(refunds_operator)
    app.include_router(notifications_operator)
    app.include_router(analytics_router)
    app.include_router(stores_operator)
    app.include_router(intake_channels)  # channel deliveries: each verified by its source's signature
    app.include_router(intake_operator)
    app.include_router(service_api.router)
    mount_pages(app, settings)
    app.include_router(recommendations_pages)  # suggestions' "Add" on the checkout and thank-you pages
    mount_console(app)  # the operator console under /admin: its own session cookie and CSRF token
    app.include_router(accounts_pages)  # /account/{store}/...: the account pages
    app.include_router(recommendations_account_pages)  # "Add" on the account checkout page
    if settings.mcp_http:
        from ordergate.agent.transports import mount_agent  # the MCP stack costs ~35 MB: only when served

        mount_agent(app, settings)  # assistants' MCP tools at /mcp (read, explain, prepare; never order)
    app.add_middleware(RetryConflicts)  # innermost: replays a request that lost a deadlock
    # Inside the guard: the tracking read answered from its stored document, before routing.
    app.add_middleware(TrackingFastLane)
    app.add_middleware(
        GuessThrottle,  # inside the guard: it sees headers as the guest routes will
        failures=settings.guesses_per_client,
        window_seconds=settings.guess_window_seconds,
    )
    app.add_middleware(
        RequestGuard,
        max_body=settings.max_body_bytes,
        intake_max_body=settings.intake_max_body_bytes,
    )
    return app
