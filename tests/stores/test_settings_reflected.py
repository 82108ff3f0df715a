"""A settings change is served at once by every web process: `ordergate serve --workers 2` on the
same database as the test's own app, each caching the store (stores/cache.py), sees a change the
other process commits, and the test's app sees one the served processes commit."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from ordergate.settings import Settings
from tests.factories import ADMIN_KEY
from tests.served import Served, serve

STORE = "/api/v1/stores/demo"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _both_workers_up(served: Served) -> None:
    deadline = time.monotonic() + 60
    while len({json.loads(line).get("pid") for line in served.lines() if "web_process_started" in line}) < 2:
        assert time.monotonic() < deadline, served.log.read_text()[-2000:]
        time.sleep(0.2)


async def _guest_available(base: str) -> set[bool]:
    """What 12 requests on fresh connections (so either worker may answer) say of guest checkout."""
    seen = set()
    for _ in range(12):
        async with httpx.AsyncClient(base_url=base, timeout=10) as fresh:
            seen.add(bool((await fresh.get(STORE)).json()["guest_checkout"]["available"]))
    return seen


async def _settles(base: str, wanted: bool, *, sqlite: bool) -> None:
    # SQLite: the committing process replaces the signal file before it answers, so the very next
    # request anywhere sees the change. PostgreSQL: the NOTIFY reaches each listener a moment later.
    if not sqlite:
        for _ in range(50):
            if await _guest_available(base) == {wanted}:
                break
            await asyncio.sleep(0.1)
    assert await _guest_available(base) == {wanted}


async def test_every_process_serves_a_settings_change_at_once(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    sqlite = settings.database_url.startswith("sqlite")
    with serve(settings.database_url, tmp_path, "--workers", "2", ORDERGATE_LOG_LEVEL="info") as served:
        _both_workers_up(served)
        assert await _guest_available(served.base) == {True}  # both workers cache the store now
        assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True  # and this app

        # Changed by this process (the console's service, through the admin API): the workers see it.
        r = await client.patch(
            f"{STORE}/admin/settings", json={"guest_checkout_enabled": False}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
        await _settles(served.base, False, sqlite=sqlite)

        # Changed by a worker: this process sees it.
        async with httpx.AsyncClient(base_url=served.base, timeout=10) as other:
            r = await other.patch(
                f"{STORE}/admin/settings", json={"guest_checkout_enabled": True}, headers=ADMIN
            )
            assert r.status_code == 200, r.text
        if not sqlite:
            for _ in range(100):
                if (await client.get(STORE)).json()["guest_checkout"]["available"]:
                    break
                await asyncio.sleep(0.05)
        assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True
        await _settles(served.base, True, sqlite=sqlite)
