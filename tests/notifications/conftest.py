"""Fixtures for the notification tests: a server key, real SMTP and SMS servers, outbox helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.models import OutboxMessage
from ordergate.orders.models import Order
from ordergate.settings import Settings
from tests.conftest import make_settings
from tests.notifications.servers import SmsTestServer, SmtpTestServer

SECRET_KEY = "notifications-test-key-" + "k" * 24


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, var_dir=tmp_path / "var", secret_key=SECRET_KEY)


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def sms_api() -> Iterator[SmsTestServer]:
    with SmsTestServer() as server:
        yield server


def with_smtp(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"smtp_url": SecretStr(url)})


def with_sms(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"sms_url": SecretStr(url)})


async def outbox(maker: async_sessionmaker[AsyncSession], **where: object) -> list[OutboxMessage]:
    async with maker() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
        return list(await session.scalars(stmt))


async def seals(maker: async_sessionmaker[AsyncSession]) -> list[str | None]:
    async with maker() as session:
        return list(await session.scalars(select(Order.link_seal).order_by(Order.id)))


def mail_files(settings: Settings) -> list[Path]:
    return sorted((settings.var_dir / "mail").glob("*.eml"))


def sms_files(settings: Settings) -> list[Path]:
    return sorted((settings.var_dir / "sms").glob("*.txt"))
