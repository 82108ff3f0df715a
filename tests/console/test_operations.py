"""The console's other pages: the intake quarantine with replay and dismissal, payments, the
funnel report (server-drawn SVG charts, a table, CSV) and API keys."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake.sources import load_sources
from ordergate.settings import Settings
from ordergate.stores.service import get_store
from tests.conftest import make_settings
from tests.console.helpers import post, sign_in, text_of
from tests.factories import Buyer, demo_config
from tests.intake.channel import SECRET, Channel, generic_order


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, demo_intake_secret=SECRET)


async def _sources(app: FastAPI, settings: Settings) -> None:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with maker() as session, session.begin():
        store = await get_store(session, "demo")
        await load_sources(session, store, demo_config().sources, settings=settings)


async def test_quarantine_replay_corrected_and_dismiss(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    await _sources(app, settings)
    channel = Channel(client)
    bad_quantity = generic_order(external_id="MKT-Q1")
    bad_quantity["lines"][0]["quantity"] = 1.5
    stuck = (await channel.generic(bad_quantity)).json()
    unknown = (
        await channel.generic(
            generic_order(
                external_id="MKT-Q2",
                total="26.20",
                lines=[{"sku": "MKT-MUG", "quantity": 1, "unit_price": "21.30"}],
            )
        )
    ).json()
    assert stuck["status"] == unknown["status"] == "quarantined"

    await sign_in(client)
    page = await client.get("/admin/intake")
    words = text_of(page.text)
    assert page.status_code == 200
    assert "2 waiting" in words
    assert "payload.shape" in words
    assert "reference.sku" in words
    assert "(catalog)" in words
    only = text_of((await client.get("/admin/intake", params={"rule": "reference.sku"})).text)
    assert "1 waiting" in only
    assert unknown["intake_id"] in only
    assert (await client.get("/admin/intake", params={"rule": "no.such"})).status_code == 422

    detail_path = f"/admin/intake/{stuck['intake_id']}"
    detail = await client.get(detail_path)
    assert detail.status_code == 200
    assert "1.5" in detail.text
    assert "Replay with the corrected body" in detail.text
    r = await post(client, f"{detail_path}/replay", {"mode": "corrected", "payload": "{not json", "note": ""})
    assert r.status_code == 422
    assert "not valid JSON" in r.text
    assert "{not json</textarea>" in r.text
    corrected = generic_order(external_id="MKT-Q1")
    r = await post(
        client,
        f"{detail_path}/replay",
        {"mode": "corrected", "payload": json.dumps(corrected), "note": "qty 1"},
    )
    assert r.status_code == 303
    after = text_of((await client.get(r.headers["location"])).text)
    assert "Replayed." in after
    assert "accepted" in after
    assert "qty 1" in after
    [number] = re.findall(r"Order ([A-Z0-9]{4}-[A-Z0-9]{4})", after)[:1]
    assert (await client.get(f"/admin/orders/{number}")).status_code == 200

    other = f"/admin/intake/{unknown['intake_id']}"
    r = await post(client, f"{other}/dismiss", {"dismiss_note": ""})
    assert r.status_code == 422
    assert "dismiss-note-error" in r.text
    r = await post(client, f"{other}/dismiss", {"dismiss_note": "a test order from the stall"})
    assert r.status_code == 303
    assert "dismissed" in text_of((await client.get(other)).text)
    r = await post(client, "/admin/intake/replay", {"source": "", "rule": ""})
    assert r.status_code == 200
    assert "Nothing was waiting in quarantine" in r.text
    assert (await client.get("/admin/intake/nope")).status_code == 404


async def test_report_draws_accessible_svg_charts_and_exports_csv(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    paid = await buyer.order()
    await buyer.pay(paid["token"])
    await buyer.order()
    await buyer.open()
    await sign_in(client)
    page = await client.get("/admin/report", params={"since": "7d"})
    assert page.status_code == 200
    html = page.text
    svgs = re.findall(r"<svg class=\"chart-svg\".*?</svg>", html, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        assert 'role="img"' in svg
        assert "<title id=" in svg
        assert "<desc id=" in svg
        assert "aria-labelledby" in svg
        assert "style=" not in svg
        assert "<script" not in svg
    assert "guest: 3 checkouts opened, 2 orders created, 1 paid, 0 completed" in svgs[0]
    assert "guest 66.7%" in svgs[1]  # 2 orders of 3 checkouts
    assert "style=" not in html
    assert "<script>" not in html
    words = text_of(html)
    assert "Checkout completion 66.7%" in words
    assert "Conversion (paid ÷ checkouts) 33.3%" in words
    assert "Attach rate (orders keeping one) 0.0% 0 orders" in words  # no suggestion was added
    csv = await client.get("/admin/report.csv", params={"since": "7d"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="demo-funnel-7d.csv"' in csv.headers["content-disposition"]
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("store,currency,since,until,channel,checkouts_opened")
    assert lines[1].split(",")[4:6] == ["guest", "3"]
    bad = await client.get("/admin/report", params={"since": "forever"})
    assert bad.status_code == 422
    assert 'id="since-error"' in bad.text


async def test_payments_page_lists_methods_callbacks_and_attention(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    await buyer.pay(order["token"])
    await buyer.pay(order["token"], amount="0.0001")  # extra money after the order was paid
    await sign_in(client)
    words = text_of((await client.get("/admin/payments")).text)
    assert "sandbox" in words
    assert "Ready" in words
    assert "manual" in words
    assert order["number"] in words
    assert "extra payment" in words
    assert (await client.get("/admin/payments", params={"status": "lost"})).status_code == 422


async def test_keys_are_created_shown_once_and_revoked(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    r = await post(client, "/admin/keys", {"label": "warehouse laptop"})
    assert r.status_code == 200
    assert "shown only this once" in r.text
    [key] = re.findall(r'id="new-key" type="text" readonly value="(og_[^"]+)"', r.text)
    assert "warehouse laptop" in r.text
    listing = (await client.get("/admin/keys")).text
    assert key not in listing
    assert key.split("_")[1] in listing
    # The new key works for the API and the console.
    api = await client.get("/api/v1/stores/demo/admin/orders", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    r = await post(client, f"/admin/keys/{key.split('_')[1]}/revoke")
    assert r.status_code == 303
    assert "revoked=" in r.headers["location"]
    assert "is revoked" in (await client.get(r.headers["location"])).text
    api = await client.get("/api/v1/stores/demo/admin/orders", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 401
    assert (await post(client, "/admin/keys/nosuchkey/revoke")).status_code == 404
    assert (await post(client, "/admin/keys", {"label": "x" * 201})).status_code == 422


async def test_odd_input_is_never_a_server_error(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    odd = "%22%0d%0aX:%20y%C3%BC%00<script>"
    for path in (
        f"/admin/orders?status={odd}&source={odd}&q={odd}&created_from={odd}&after={odd}",
        f"/admin/orders/{odd}",
        f"/admin/orders/{'A' * 300}",
        f"/admin/report?since={odd}",
        f"/admin/report.csv?since={odd}",
        "/admin/report.csv?since=2026-11-01T00:00:00%2B00:00",
        f"/admin/intake?source={odd}&rule={odd}",
        f"/admin/intake/{odd}",
        f"/admin/messages?state={odd}",
        f"/admin/payments?status={odd}",
        f"/admin/sign-in?next={odd}",
    ):
        r = await client.get(path)
        assert r.status_code < 500, (path, r.status_code)
        assert "<script>" not in r.text, path
    for path, data in (
        (f"/admin/orders/{odd}/refunds", {"amount": "1e400", "asset": odd, "reference": odd}),
        ("/admin/messages/99999999999/retry", {}),
        (f"/admin/keys/{odd}/revoke", {}),
        (f"/admin/intake/{odd}/replay", {"mode": "corrected", "payload": odd}),
        ("/admin/sign-in", {"key": odd * 40, "next": odd}),
    ):
        r = await post(client, path, data)
        assert r.status_code < 500, (path, r.status_code)
