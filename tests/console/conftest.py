"""Console fixtures: a real SMTP server for emailed codes, and a second browser for staff."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.notifications.servers import SmtpTestServer


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
async def staff_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser, for the staff member (the `client` fixture is the owner's)."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c
