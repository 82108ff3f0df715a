"""The funnel numbers, from what checkouts and orders record, with no token or contact data."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.analytics.service import parse_since
from tests.factories import Buyer


async def test_funnel_report(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    await buyer.open()  # opened, nothing else
    contact_only = await buyer.open()
    await client.patch(
        f"/api/v1/stores/demo/checkouts/{contact_only['id']}", json={"contact": {"email": "x@example.com"}}
    )
    quoted = await buyer.ready()
    await client.post(f"/api/v1/stores/demo/checkouts/{quoted['id']}/quote")
    clock.advance(timedelta(seconds=90))
    unpaid = await buyer.order(quantity=2)  # 29.00 + 4.90
    paid = await buyer.order()  # 14.50 + 4.90
    await buyer.pay(paid["token"])

    r = await client.get("/api/v1/stores/demo/admin/report?since=1d", headers=admin)
    assert r.status_code == 200, r.text
    guest = next(c for c in r.json()["channels"] if c["channel"] == "guest")
    assert guest["checkouts_opened"] == 5
    assert guest["contact_given"] == 4
    assert guest["quote_shown"] == 1
    assert guest["orders_created"] == 2
    assert guest["orders_funded"] == 1
    assert guest["orders_completed"] == 0
    assert guest["completion_rate"] == 0.4
    assert guest["funded_rate"] == 0.5
    assert guest["conversion"] == 0.2
    assert guest["average_order_value"] == "26.65"
    assert guest["revenue_created"] == "53.30"
    assert [s["step"] for s in guest["steps"]][:4] == [
        "checkout_opened",
        "contact_given",
        "quote_shown",
        "order_created",
    ]
    assert guest["steps"][1]["lost"] == 1
    assert guest["steps"][1]["drop_off"] == 0.2
    assert guest["median_seconds_to_order"] is not None
    assert guest["median_seconds_to_order"] >= 0
    assert unpaid["token"] not in r.text
    assert "example.com" not in r.text

    csv = await client.get("/api/v1/stores/demo/admin/report?since=1d&format=csv", headers=admin)
    assert csv.headers["content-type"].startswith("text/csv")
    header, guest_row, _account_row = csv.text.strip().splitlines()
    assert header.startswith("store,currency,since,until,channel,checkouts_opened")
    assert ",guest,5,4,1,2,1,0,0.4,0.5,0.2,26.65,53.30," in guest_row

    bad = await client.get("/api/v1/stores/demo/admin/report?since=yesterday-ish", headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "since"
    assert (await client.get("/api/v1/stores/demo/admin/report")).status_code == 401


async def test_period_excludes_older_checkouts(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await Buyer(client).order()
    clock.advance(timedelta(days=3))
    await Buyer(client).open()
    report = (await client.get("/api/v1/stores/demo/admin/report?since=2d", headers=admin)).json()
    guest = report["channels"][0]
    assert (guest["checkouts_opened"], guest["orders_created"]) == (1, 0)
    assert guest["completion_rate"] == 0.0
    assert guest["average_order_value"] is None


def test_parse_since() -> None:
    now = clock.now()
    assert parse_since("30d", now=now) == now - timedelta(days=30)
    assert parse_since("12h", now=now) == now - timedelta(hours=12)
    assert parse_since("2w", now=now) == now - timedelta(weeks=2)
    assert parse_since("2026-11-01", now=now).isoformat().startswith("2026-11-01T00:00:00+00:00")
