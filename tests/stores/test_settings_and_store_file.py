"""The store file and the console together: `ordergate demo` leaves an existing store's settings as
the console left them; `ordergate stores load FILE` (configuration as code) puts the file's back,
and the policy versions made in the console stay in the history."""

from __future__ import annotations

import asyncio

import httpx

from ordergate.settings import Settings
from tests.factories import DEMO_FILE
from tests.test_cli import run

SETTINGS = "/api/v1/stores/demo/admin/settings"
STORE = "/api/v1/stores/demo"


async def test_demo_keeps_console_edits_and_stores_load_restores_the_file(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    r = await client.patch(
        SETTINGS,
        json={
            "guest_checkout_enabled": False,
            "policies": {"terms": {"summary": "Console terms", "version": "c1"}},
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    env = {"ORDERGATE_VAR_DIR": str(settings.var_dir)}

    demo = await asyncio.to_thread(run, "demo", db=settings.database_url, **env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    after_demo = (await client.get(SETTINGS, headers=admin)).json()
    assert after_demo["guest_checkout_enabled"] is False
    assert next(p for p in after_demo["policies"] if p["id"] == "terms")["version"] == "c1"

    load = await asyncio.to_thread(run, "stores", "load", str(DEMO_FILE), db=settings.database_url, **env)
    assert load.returncode == 0, load.stdout + load.stderr
    after_load = (await client.get(SETTINGS, headers=admin)).json()
    assert after_load["guest_checkout_enabled"] is True
    terms = next(p for p in after_load["policies"] if p["id"] == "terms")
    assert terms["version"] == "2026-01"
    assert {v["version"] for v in terms["versions"]} == {"2026-01", "c1"}
    assert "Console terms" in (await client.get("/s/demo/policies/terms", params={"version": "c1"})).text
    # This app's cached store was dropped by the other process's commit (PostgreSQL: its NOTIFY
    # reaches the listener a moment after the commit).
    for _ in range(100):
        if (await client.get(STORE)).json()["guest_checkout"]["available"]:
            break
        await asyncio.sleep(0.05)
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True
