"""The tracking read's lane of kept PostgreSQL connections (ordergate/readlane.py): a connection cut
under it costs no answer, reads run concurrently on the lane, and stopping the app hands every kept
connection back (none is left open on the server)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ordergate.app import create_app
from ordergate.orders.fastlane import SELECT
from ordergate.settings import Settings
from tests.checkout.test_sql_statements import counting
from tests.factories import Buyer, load_demo_store

BASE = "/api/v1/stores/demo"


async def lane_backends(sessionmaker: async_sessionmaker[AsyncSession]) -> set[int]:
    """Server processes whose last statement was the lane's SELECT (nothing else runs it)."""
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = :q"
                " AND pid <> pg_backend_pid()"
            ),
            {"q": SELECT},
        )
        return set(rows.scalars())


async def test_a_lane_connection_cut_by_the_server_costs_no_answer(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has no lane: the route answers every read")
    token = (await Buyer(client).order())["token"]
    path = f"{BASE}/orders/{token}"
    first = await client.get(path)
    assert first.status_code == 200, first.text
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    cut = await lane_backends(maker)
    assert len(cut) == 1  # one reader at a time: one kept connection, reused
    async with maker() as session:
        cutting = text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid")
        await session.execute(cutting, {"p": list(cut)})
    # The read on the cut connection falls through to the route, which answers the same.
    second = await client.get(path)
    assert (second.status_code, second.content, second.headers["etag"]) == (
        200,
        first.content,
        first.headers["etag"],
    )
    # The next read is the lane's again, on a connection borrowed anew: one statement.
    with counting(app) as statements:
        third = await client.get(path)
    assert third.content == first.content
    assert statements == [SELECT]
    now = await lane_backends(maker)
    assert now
    assert not now & cut


async def test_concurrent_reads_share_the_lane_and_stopping_hands_its_connections_back(
    settings: Settings,
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has no lane")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with application.state.sessionmaker() as session, session.begin():
            await load_demo_store(session)
        await application.state.store_cache.settle()
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            token = (await Buyer(client).order())["token"]
            with counting(application) as statements:
                answers = await asyncio.gather(*(client.get(f"{BASE}/orders/{token}") for _ in range(20)))
            assert {a.status_code for a in answers} == {200}
            assert len({a.content for a in answers}) == 1
            assert statements == [SELECT] * 20
            kept = await lane_backends(application.state.sessionmaker)
            assert 1 <= len(kept) <= 4
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            still_open = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:p AS int[]))")
            left = await conn.scalar(still_open, {"p": list(kept)})
    finally:
        await engine.dispose()
    assert left == 0
