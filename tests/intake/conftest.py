"""Intake fixtures: the demo store's sources loaded, signed with a known secret."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake.sources import load_sources
from ordergate.settings import Settings
from ordergate.stores.service import get_store
from tests.conftest import make_settings
from tests.factories import demo_config
from tests.intake.channel import SECRET


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, demo_intake_secret=SECRET)


@pytest.fixture(autouse=True)
async def intake_sources(app: FastAPI, settings: Settings) -> None:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with maker() as session, session.begin():
        store = await get_store(session, "demo")
        loaded = await load_sources(session, store, demo_config().sources, settings=settings)
        assert all(generated is None for _, generated in loaded)  # the secret came from the settings
