"""The hot paths' shortcuts never change an answer: the stored tracking document against a fresh
render after every kind of change, the ETag and 304, and the store cache across processes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.orders.models import Order
from ordergate.settings import Settings
from tests.checkout.test_sql_statements import counting
from tests.factories import DEMO_FILE, Buyer, demo_config
from tests.test_cli import run

BASE = "/api/v1/stores/demo"


async def fresh_render(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], token: str
) -> dict[str, Any]:
    """The tracking answer rendered from the order's rows, its stored document dropped first."""
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Order).values(tracking=None, tracking_until=None))
    r = await client.get(f"{BASE}/orders/{token}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def stored(client: httpx.AsyncClient, token: str) -> tuple[dict[str, Any], str]:
    r = await client.get(f"{BASE}/orders/{token}")
    assert r.status_code == 200, r.text
    return dict(r.json()), r.headers["etag"]


async def test_the_stored_document_matches_a_fresh_render_after_every_change(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    placed = await buyer.order()
    token = placed["token"]
    first, tag = await stored(client, token)
    assert first == placed  # the placement's answer is the stored document
    assert first == await fresh_render(client, sessionmaker, token)

    seen = {tag}
    changes = [
        lambda: buyer.pay(token, confirmations=2),
        lambda: client.post(
            f"{BASE}/admin/orders/{first['number']}/shipments",
            json={"carrier": "DHL", "tracking_number": "JD0001", "evidence": "handed over"},
            headers=admin,
        ),
        lambda: client.post(f"{BASE}/admin/orders/{first['number']}/complete", headers=admin),
    ]
    for change in changes:
        r = await change()
        assert r.status_code < 300, r.text
        answer, tag = await stored(client, token)
        assert tag not in seen, "every change gives the order a new version"
        seen.add(tag)
        assert answer == await fresh_render(client, sessionmaker, token)
    assert answer["status"] == "completed"
    assert [m["status"] for m in answer["milestones"]] == [
        "awaiting_payment",
        "funded",
        "shipped",
        "completed",
    ]


async def test_an_unpaid_order_expires_on_read_once_its_window_ends(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    placed = await buyer.order()
    before, tag = await stored(client, placed["token"])
    assert before["status"] == "awaiting_payment"
    clock.advance(timedelta(days=2))
    after, later = await stored(client, placed["token"])
    assert after["status"] == "expired"
    assert after["can_refresh"] is True
    assert later != tag


async def test_if_none_match_answers_304_until_the_order_changes(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    token = (await buyer.order())["token"]
    path = f"{BASE}/orders/{token}"
    r = await client.get(path)
    tag = r.headers["etag"]
    assert tag.startswith('"')
    assert tag.endswith('"')

    unchanged = await client.get(path, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == tag
    listed = await client.get(path, headers={"If-None-Match": f'"other", {tag}'})
    assert listed.status_code == 304
    assert (await client.get(path, headers={"If-None-Match": f"W/{tag}"})).status_code == 200
    assert (await client.get(path, headers={"If-None-Match": '"t1.1"'})).status_code == 200

    assert (await buyer.pay(token)).status_code == 201
    changed = await client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.json()["status"] == "funded"
    assert changed.headers["etag"] != tag


async def test_an_unknown_token_is_a_problem_not_a_304(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{BASE}/orders/{'x' * 43}", headers={"If-None-Match": '"t1.1"'})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "order"


async def test_placing_the_same_checkout_again_answers_the_stored_order(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    first = await buyer.place(chk["id"], key="same")
    again = await buyer.place(chk["id"], key="same")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_a_store_change_made_by_another_process_is_served_at_once(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    assert (await client.get(BASE)).json()["name"] == demo_config().name  # cached from here on
    toml = tmp_path / "store.toml"
    toml.write_text(DEMO_FILE.read_text().replace(f'name = "{demo_config().name}"', 'name = "Renamed"', 1))
    done = await asyncio.to_thread(
        run, "stores", "load", str(toml), db=settings.database_url, ORDERGATE_VAR_DIR=str(settings.var_dir)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for _ in range(100):  # PostgreSQL: the NOTIFY reaches the listener a moment after the commit
        if (await client.get(BASE)).json()["name"] == "Renamed":
            break
        await asyncio.sleep(0.05)
    assert (await client.get(BASE)).json()["name"] == "Renamed"


async def test_the_store_is_read_once_per_process(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.get(BASE)
    with counting(app) as statements:
        assert (await client.get(BASE)).status_code == 200
    assert statements == []
