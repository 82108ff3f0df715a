"""A transaction that loses a deadlock on PostgreSQL is run again, not turned into an error."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.catalog.models import Product
from ordergate.db_retry import is_retryable, retrying
from ordergate.settings import Settings


async def test_a_deadlock_victim_is_retried(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite takes one writer at a time: no deadlocks")
    async with sessionmaker() as session:
        first, second = (await session.scalars(select(Product.id).order_by(Product.id).limit(2))).all()
        before = dict((await session.execute(select(Product.id, Product.reserved))).all())
    both_hold_one = asyncio.Barrier(2)
    runs = {"forward": 0, "backward": 0}
    seen: list[BaseException] = []

    async def bump(name: str, order: tuple[int, int]) -> None:
        runs[name] += 1
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE products SET reserved = reserved + 1 WHERE id = :i"), {"i": order[0]}
            )
            if runs[name] == 1:
                await both_hold_one.wait()  # the first attempts cross: each waits for the other's row
            try:
                await session.execute(
                    text("UPDATE products SET reserved = reserved + 1 WHERE id = :i"), {"i": order[1]}
                )
            except DBAPIError as exc:
                seen.append(exc)
                raise

    await asyncio.gather(
        retrying(lambda: bump("forward", (first, second)), what="test"),
        retrying(lambda: bump("backward", (second, first)), what="test"),
    )
    assert len(seen) == 1
    assert is_retryable(seen[0])
    assert sorted(runs.values()) == [1, 2]
    async with sessionmaker() as session:
        after = dict((await session.execute(select(Product.id, Product.reserved))).all())
    assert after[first] == before[first] + 2
    assert after[second] == before[second] + 2
