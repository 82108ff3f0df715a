"""The generic (canonical JSON) source, and the operator's side: corrections, replay, dismissal,
bulk replay after a mapping, per-source and per-rule counts."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake.adapters.generic import sign
from tests.conftest import start_of_window
from tests.factories import Buyer, set_stock
from tests.intake.channel import SECRET, Channel, generic_order

ADMIN = "/api/v1/stores/demo/admin"


async def test_signed_canonical_order_is_accepted(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    answer = (await Channel(client).generic(generic_order())).json()
    assert answer["status"] == "accepted"
    assert answer["issues"] == []
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "funded"
    assert order["source"] == "generic-demo"
    assert order["totals"]["total"] == "25.80"
    assert order["contact"]["phone"] == "+353875550123"


async def test_signature_timestamp_tolerance_and_rotation(client: httpx.AsyncClient) -> None:
    channel = Channel(client)
    body = json.dumps(generic_order()).encode()
    old = int(time.time()) - 301
    stale = await channel.generic(body, timestamp=old)
    assert stale.status_code == 401
    assert stale.json()["errors"] == [
        {
            "field": "Ordergate-Signature",
            "message": "the timestamp is more than 300 s from the server's clock",
        }
    ]
    garbled = await channel.generic(body, signature="v1=abc")
    assert garbled.status_code == 401
    now = int(time.time())
    rotating = sign(SECRET, body, now) + "," + sign("previous-secret-0123456789", body, now).split(",")[1]
    assert (await channel.generic(body, signature=rotating)).status_code == 202
    wrong = sign("previous-secret-0123456789", body, now)
    assert (await channel.generic(body, signature=wrong)).status_code == 401


async def test_broken_payloads_are_kept_and_can_be_corrected(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    not_json = (await channel.generic(b"{'external_id': 'x'")).json()
    assert [(i["rule"], i["field"]) for i in not_json["issues"]] == [("payload.json", "body")]

    typo = generic_order(totl="25.80")
    del typo["total"]
    answer = (await channel.generic(typo)).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("payload.shape", "totl")]

    bad_quantity = generic_order(external_id="MKT-2")
    bad_quantity["lines"][0]["quantity"] = 1.5
    answer = (await channel.generic(bad_quantity)).json()
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("payload.shape", "lines[0].quantity")]

    corrected = generic_order(external_id="MKT-2")
    r = await client.post(
        f"{ADMIN}/intake/payloads/{answer['intake_id']}/replay",
        json={"payload": corrected, "note": "quantity was 1"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    assert r.json()["replayed"] is True
    detail = (await client.get(f"{ADMIN}/intake/payloads/{answer['intake_id']}", headers=admin)).json()
    assert detail["corrected"] is True
    assert json.loads(detail["corrected_text"]) == corrected
    assert json.loads(detail["body_text"])["lines"][0]["quantity"] == 1.5  # the original is kept
    assert [h["corrected"] for h in detail["history"]] == [False, True]

    # Settled: a correction is refused, a plain replay does nothing.
    r = await client.post(
        f"{ADMIN}/intake/payloads/{answer['intake_id']}/replay", json={"payload": corrected}, headers=admin
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"


async def test_completeness_and_contact_rules(client: httpx.AsyncClient) -> None:
    bare = {"external_id": "BARE-1", "lines": [{"quantity": 1}]}
    answer = (await Channel(client).generic(bare)).json()
    assert answer["status"] == "quarantined"
    assert sorted((i["rule"], i["field"]) for i in answer["issues"]) == [
        ("completeness.delivery", "delivery.address_line1"),
        ("completeness.delivery", "delivery.city"),
        ("completeness.delivery", "delivery.country"),
        ("completeness.delivery", "delivery.name"),
        ("completeness.delivery", "delivery.postal_code"),
        ("completeness.required", "contact"),
        ("completeness.required", "currency"),
        ("completeness.required", "lines[0].sku"),
        ("completeness.required", "lines[0].unit_price"),
        ("completeness.required", "total"),
    ]
    owners = {i["rule"]: i["owner"] for i in answer["issues"]}
    assert owners == {"completeness.required": "integrations", "completeness.delivery": "integrations"}

    bad_email = generic_order(external_id="MAIL-1", contact={"email": "niamh@@example"})
    answer = (await Channel(client).generic(bad_email)).json()
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("contact.email", "contact.email")]
    other_store = (await Channel(client).generic(generic_order(external_id="S-1", store="elsewhere"))).json()
    assert [i["rule"] for i in other_store["issues"]] == ["reference.store"]


async def test_dismiss_bulk_replay_and_counts(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    channel = Channel(client)
    await Buyer(client).order()  # a guest checkout order: the web-guest source
    unknown = [
        generic_order(
            external_id=f"MKT-U{n}",
            total="26.20",
            lines=[{"sku": "MKT-MUG", "quantity": 1, "unit_price": "21.30"}],
        )
        for n in range(3)
    ]
    answers = [(await channel.generic(o)).json() for o in unknown]
    assert {a["status"] for a in answers} == {"quarantined"}
    cancel_unknown = (await channel.generic({"event": "cancel", "external_id": "NEVER-SEEN"})).json()
    assert cancel_unknown["held"] is True

    dismissed = await client.post(
        f"{ADMIN}/intake/payloads/{answers[0]['intake_id']}/dismiss",
        json={"note": "test order"},
        headers=admin,
    )
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["issues"] == []
    again = await client.post(
        f"{ADMIN}/intake/payloads/{answers[0]['intake_id']}/dismiss", json={"note": "again"}, headers=admin
    )
    assert again.status_code == 409

    stats = (await client.get(f"{ADMIN}/intake/stats", headers=admin)).json()
    sources = {s["source"]: s["counts"] for s in stats["sources"]}
    assert sources["web-guest"] == {"accepted": 1}
    assert sources["generic-demo"] == {"quarantined": 2, "dismissed": 1, "held": 1}
    assert sources["shopify-demo"] == {}
    rules = {(r["rule"], r["owner"]): (r["open"], r["total"]) for r in stats["rules"]}
    assert rules[("reference.sku", "catalog")] == (2, 2)
    assert rules[("state.awaiting_create", "integrations")] == (1, 1)

    quarantine = (await client.get(f"{ADMIN}/intake/quarantine?rule=reference.sku", headers=admin)).json()
    assert len(quarantine["items"]) == 2
    assert all(i["issues"][0]["owner"] == "catalog" for i in quarantine["items"])

    mapping = {"external_sku": "MKT-MUG", "sku": "CASE-CANVAS"}
    assert (
        await client.put(f"{ADMIN}/intake/sources/generic-demo/sku-mappings", json=mapping, headers=admin)
    ).status_code == 200
    bulk = (await client.post(f"{ADMIN}/intake/replay", json={"rule": "reference.sku"}, headers=admin)).json()
    assert (bulk["replayed"], bulk["accepted"], bulk["quarantined"]) == (2, 2, 0)
    stats = (await client.get(f"{ADMIN}/intake/stats", headers=admin)).json()
    sources = {s["source"]: s["counts"] for s in stats["sources"]}
    assert sources["generic-demo"] == {"accepted": 2, "dismissed": 1, "held": 1}

    mappings = (await client.get(f"{ADMIN}/intake/sources/generic-demo/sku-mappings", headers=admin)).json()
    assert [(m["external_sku"], m["sku"]) for m in mappings["items"]] == [("MKT-MUG", "CASE-CANVAS")]
    gone = await client.delete(
        f"{ADMIN}/intake/sources/generic-demo/sku-mappings", params={"external_sku": "MKT-MUG"}, headers=admin
    )
    assert gone.status_code == 204
    missing = await client.delete(
        f"{ADMIN}/intake/sources/generic-demo/sku-mappings", params={"external_sku": "MKT-MUG"}, headers=admin
    )
    assert missing.status_code == 404


async def test_operator_routes_need_the_store_key(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.get(f"{ADMIN}/intake/quarantine")).status_code == 401
    assert (
        await client.get(f"{ADMIN}/intake/stats", headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    r = await client.get(f"{ADMIN}/intake/payloads?status=lost", headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "status"
    r = await client.put(
        f"{ADMIN}/intake/sources/generic-demo/sku-mappings",
        json={"external_sku": "A", "sku": "NOPE"},
        headers=admin,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sku"
    r = await client.get(f"{ADMIN}/intake/payloads/in_doesnotexist", headers=admin)
    assert r.status_code == 404
    r = await client.get(f"{ADMIN}/intake/sources/nobody/sku-mappings", headers=admin)
    assert r.status_code == 404


async def test_an_order_cancelled_before_it_arrived_holds_no_stock(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, "NB-A5-DOT", 0)
    answer = (await Channel(client).generic(generic_order(external_id="GONE-1", status="cancelled"))).json()
    assert answer["status"] == "accepted"
    assert answer["issues"] == []
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "cancelled"
    assert [(e["from_status"], e["to_status"]) for e in order["events"]] == [
        (None, "awaiting_payment"),
        ("awaiting_payment", "cancelled"),
    ]
    products = {p["sku"]: p for p in (await client.get("/api/v1/stores/demo/products")).json()["items"]}
    assert products["NB-A5-DOT"]["available_quantity"] == 0
    assert products["STICKY-SET"]["available_quantity"] == 100000


async def test_unsigned_deliveries_are_counted_and_rate_limited(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from ordergate.intake.refusals import RECORDED_PER_MINUTE

    # A fresh minute (not an hour: signed deliveries carry the real time, which must stay within
    # the signature's tolerance of the app's clock).
    start_of_window(60)

    channel = Channel(client)
    body = json.dumps(generic_order()).encode()
    statuses = [
        (await channel.generic(body, signature="v1=forged")).status_code
        for _ in range(RECORDED_PER_MINUTE + 5)
    ]
    assert statuses[:RECORDED_PER_MINUTE] == [401] * RECORDED_PER_MINUTE
    assert statuses[RECORDED_PER_MINUTE:] == [429] * 5
    throttled = await channel.generic(body, signature="v1=forged")
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    assert throttled.headers["content-type"] == "application/problem+json"
    refused = (await client.get(f"{ADMIN}/intake/payloads?status=refused&limit=200", headers=admin)).json()
    assert len(refused["items"]) == RECORDED_PER_MINUTE  # one row each only up to the limit
    metrics = (await client.get("/metrics")).text
    assert (
        'ordergate_intake_refusals_total{reason="bad_signature",recorded="no",source="generic-demo"}'
        in metrics
    )
    # A signed delivery still goes through: the limit is on refusals only.
    assert (await channel.generic(generic_order())).status_code == 202
