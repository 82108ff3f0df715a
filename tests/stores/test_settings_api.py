"""The store's settings through the admin API (GET and PATCH /api/v1/stores/{store}/admin/settings):
each change alters what buyers see and what placement accepts; policies get new versions; bad input
is a problem naming the field, and a refused change changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import security
from ordergate.audit.models import AuditEntry
from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.accounts.helpers import claim, email, order_for
from tests.accounts.test_loyalty import entries, fulfil
from tests.factories import ADMIN_KEY, DELIVERY, Buyer
from tests.notifications.conftest import sms_files
from tests.notifications.helpers import place_order

SETTINGS = "/api/v1/stores/demo/admin/settings"
STORE = "/api/v1/stores/demo"


async def change(client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await client.patch(SETTINGS, json=body, headers=admin)


def problem_field(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return str(r.json()["errors"][0]["field"])


async def test_guest_checkout_off_and_on(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    r = await change(
        client, admin, {"guest_checkout_enabled": False, "guest_checkout_note": "Closed for stocktake"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["guest_checkout_enabled"] is False
    assert r.json()["guest_checkout_note"] == "Closed for stocktake"

    guest = (await client.get(STORE)).json()["guest_checkout"]
    assert guest == {"available": False, "reason": "disabled"}
    refused = await buyer.place(chk["id"])
    assert refused.status_code == 409
    assert problem_field(refused) == "store"
    shop = await client.get("/s/demo")
    assert "Closed for stocktake" in shop.text
    assert "Checkout as guest" not in shop.text

    assert (await change(client, admin, {"guest_checkout_enabled": True})).status_code == 200
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True
    assert (await buyer.place(chk["id"])).status_code == 201


async def test_a_policy_change_is_a_new_version_buyers_must_accept(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    before = await buyer.policies()
    assert "terms@2026-01" in before

    r = await change(
        client, admin, {"policies": {"terms": {"summary": "Prices include VAT. Shipping is free."}}}
    )
    assert r.status_code == 200, r.text
    terms = next(p for p in r.json()["policies"] if p["id"] == "terms")
    new = terms["version"]
    assert new != "2026-01"
    assert [v["version"] for v in terms["versions"]] == [new, "2026-01"]
    assert terms["versions"][0]["created_by"].startswith("key ")

    # A checkout page opened before the change still sends the old version: the clear 422.
    old = await client.post(
        f"{STORE}/checkouts/{chk['id']}/orders",
        json={"payment_method": "sandbox", "accepted_policies": before},
        headers={"Idempotency-Key": "old-terms"},
    )
    assert old.status_code == 422
    assert problem_field(old) == "accepted_policies"
    assert f"now version {new}" in old.json()["errors"][0]["message"]

    placed = await buyer.place(chk["id"])
    assert placed.status_code == 201
    seen = await client.get(f"{STORE}/admin/orders/{placed.json()['number']}", headers=admin)
    assert f"terms@{new}" in seen.json()["accepted_policies"]

    current = await client.get("/s/demo/policies/terms")
    assert "Shipping is free" in current.text
    earlier = await client.get("/s/demo/policies/terms", params={"version": "2026-01"})
    assert earlier.status_code == 200
    assert "Orders ship once payment is confirmed" in earlier.text
    assert "earlier version" in earlier.text
    assert (await client.get("/s/demo/policies/terms", params={"version": "1999"})).status_code == 404

    # Nothing new in the wording: no new version.
    same = await change(
        client, admin, {"policies": {"terms": {"summary": "Prices include VAT. Shipping is free."}}}
    )
    assert next(p for p in same.json()["policies"] if p["id"] == "terms")["version"] == new
    taken = await change(client, admin, {"policies": {"terms": {"title": "Terms", "version": "2026-01"}}})
    assert taken.status_code == 409
    assert problem_field(taken) == "policies.terms.version"
    named = await change(client, admin, {"policies": {"terms": {"title": "Terms", "version": "v3"}}})
    assert next(p for p in named.json()["policies"] if p["id"] == "terms")["version"] == "v3"
    unknown = await change(client, admin, {"policies": {"cookies": {"title": "Cookies"}}})
    assert unknown.status_code == 422
    assert problem_field(unknown) == "policies.cookies"


async def test_delivery_fields_required_and_optional(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await change(
        client,
        admin,
        {
            "delivery_fields": ["name", "address_line1", "city", "region", "country"],
            "delivery_fields_optional": ["postal_code", "instructions"],
        },
    )
    assert r.status_code == 200, r.text
    fields = {f["name"]: f["required"] for f in (await client.get(STORE)).json()["delivery_fields"]}
    assert fields == {
        "name": True,
        "address_line1": True,
        "city": True,
        "region": True,
        "country": True,
        "postal_code": False,
        "instructions": False,
    }
    chk = await Buyer(client).open()
    patched = await client.patch(
        f"{STORE}/checkouts/{chk['id']}", json={"contact": {"email": "a@example.com"}, "delivery": DELIVERY}
    )
    assert patched.json()["missing"] == ["delivery.region"]
    page = await client.get(f"/s/demo/checkout/{chk['id']}")
    assert 'name="instructions"' in page.text or 'name="delivery.instructions"' in page.text

    both = await change(client, admin, {"delivery_fields": ["city"], "delivery_fields_optional": ["city"]})
    assert both.status_code == 422
    assert problem_field(both) == "delivery_fields_optional"
    # Named in one list only, a field leaves the other.
    moved = await change(client, admin, {"delivery_fields_optional": ["city", "postal_code"]})
    assert moved.status_code == 200, moved.text
    fields = {f["name"]: f["required"] for f in moved.json()["delivery_fields"]}
    assert (fields["city"], fields["postal_code"], fields["region"]) == (False, False, True)
    assert "instructions" not in fields
    back = await change(client, admin, {"delivery_fields": ["name", "address_line1", "city", "country"]})
    fields = {f["name"]: f["required"] for f in back.json()["delivery_fields"]}
    assert (fields["city"], fields["postal_code"]) == (True, False)
    assert "region" not in fields
    bad = await change(client, admin, {"delivery_fields": ["name", "shoe_size"]})
    assert bad.status_code == 422
    assert problem_field(bad).startswith("delivery_fields")


async def test_payment_methods_on_and_off(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    r = await change(client, admin, {"payment_methods": {"sandbox": {"enabled": False}}})
    assert r.status_code == 200, r.text
    methods = {m["id"]: m for m in (await client.get(STORE)).json()["payment_methods"]}
    assert (methods["sandbox"]["ready"], methods["sandbox"]["reason"]) == (False, "disabled")
    refused = await buyer.place(chk["id"], method="sandbox")
    assert refused.status_code == 409
    assert problem_field(refused) == "payment_method"
    page = await client.get(f"/s/demo/checkout/{chk['id']}")
    assert 'value="sandbox"' not in page.text

    last = await change(client, admin, {"payment_methods": {"manual": {"enabled": False}}})
    assert last.status_code == 409
    assert problem_field(last) == "payment_methods.manual.enabled"
    assert "last payment method" in last.json()["detail"]
    both = await change(
        client, admin, {"payment_methods": {"manual": {"enabled": False}, "sandbox": {"enabled": True}}}
    )
    assert both.status_code == 200  # another one on in the same change: allowed
    now = {m["id"]: m["enabled"] for m in both.json()["payment_methods"]}
    assert now == {"sandbox": True, "manual": False}
    assert (await buyer.place(chk["id"], method="manual")).status_code == 409
    assert (await buyer.place(chk["id"], method="sandbox")).status_code == 201

    unknown = await change(client, admin, {"payment_methods": {"paypal": {"enabled": True}}})
    assert unknown.status_code == 422
    assert problem_field(unknown) == "payment_methods.paypal"


async def test_a_refused_change_changes_nothing(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    before = (await client.get(SETTINGS, headers=admin)).json()
    r = await change(
        client,
        admin,
        {
            "guest_checkout_enabled": False,
            "policies": {"terms": {"summary": "New"}},
            "payment_methods": {"sandbox": {"enabled": False}, "manual": {"enabled": False}},
        },
    )
    assert r.status_code == 409
    assert (await client.get(SETTINGS, headers=admin)).json() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"loyalty_points_per_unit": "-1"}, "loyalty_points_per_unit"),
        ({"loyalty_points_per_unit": "lots"}, "loyalty_points_per_unit"),
        ({"notification_channels": ["fax"]}, "notification_channels"),
        ({"guest_checkout_enabled": "perhaps"}, "guest_checkout_enabled"),
        ({"guest_checkout_note": "x" * 301}, "guest_checkout_note"),
        ({"currency": "USD"}, "currency"),
        ({"policies": {"terms": {"title": ""}}}, "policies.terms.title"),
        ({"policies": {"terms": {"version": "has space"}}}, "policies.terms.version"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = await change(client, admin, body)
    assert r.status_code == 422, r.text
    assert problem_field(r).startswith(field), r.json()


async def test_settings_need_the_store_key(client: httpx.AsyncClient) -> None:
    assert (await client.patch(SETTINGS, json={"guest_checkout_enabled": False})).status_code == 401
    wrong = {"Authorization": "Bearer og_nope_" + "x" * 32}
    assert (await client.patch(SETTINGS, json={}, headers=wrong)).status_code == 401
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True


async def test_notification_channels(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    r = await change(client, admin, {"notification_channels": ["email"]})
    assert r.json()["notification_channels"] == ["email"]
    await place_order(client, email="ada@example.com", phone="+4930901820")
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.skipped) == (1, 1)
    assert sms_files(settings) == []
    await change(client, admin, {"notification_channels": ["email", "sms"]})
    await place_order(client, email="bob@example.com", phone="+4930901821")
    result = await outbox_pass(sessionmaker, settings)
    assert result.sent == 2
    assert len(sms_files(settings)) == 1


async def test_the_order_page_says_the_link_was_sent_only_when_the_store_sends_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    sent = await place_order(client, email="ada@example.com")
    page = await client.get(f"/s/demo/orders/{sent['token']}")
    assert "We sent this link to a•••@e•••.com" in page.text
    await change(client, admin, {"notification_channels": ["sms"]})
    unsent = await place_order(client, email="bob@example.com")
    page = await client.get(f"/s/demo/orders/{unsent['token']}")
    assert "We sent this link" not in page.text
    assert "Bookmark it or copy the link somewhere safe." in page.text


async def test_loyalty_rule_on_and_off(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    r = await change(client, admin, {"loyalty_points_per_unit": "2"})
    assert r.json()["loyalty_points_per_unit"] == "2"
    ada = email()
    first = await order_for(client, ada)
    assert (await claim(client, sessionmaker, settings, first["token"], ada)).status_code == 201
    await fulfil(client, admin, first)
    earned = await entries(sessionmaker)
    assert [k for k, _ in earned] == ["earned"]

    assert (await change(client, admin, {"loyalty_points_per_unit": 0})).json()[
        "loyalty_points_per_unit"
    ] == "0"
    second = await order_for(client, ada)
    await client.get("/api/v1/account/orders?store=demo")  # attaches the new order to the account
    await fulfil(client, admin, second)
    assert await entries(sessionmaker) == earned  # the rule is off: nothing more


async def test_each_change_is_audited_in_its_transaction(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def log() -> list[AuditEntry]:
        async with sessionmaker() as session:
            rows = await session.scalars(
                select(AuditEntry).where(AuditEntry.action.startswith("settings.")).order_by(AuditEntry.id)
            )
            return list(rows)

    refused = await change(
        client,
        admin,
        {
            "guest_checkout_enabled": False,
            "payment_methods": {"sandbox": {"enabled": False}, "manual": {"enabled": False}},
        },
    )
    assert refused.status_code == 409
    assert await log() == []  # refused: nothing changed, nothing logged

    r = await change(
        client,
        admin,
        {
            "guest_checkout_enabled": False,
            "loyalty_points_per_unit": "2",
            "payment_methods": {"manual": {"enabled": False}},
            "policies": {"returns": {"summary": "60 days", "version": "2026-12"}},
        },
    )
    assert r.status_code == 200, r.text
    rows = await log()
    key = f"key {security.operator_key_id(ADMIN_KEY)}"
    assert {(e.action, e.target) for e in rows} == {
        ("settings.guest_checkout", "guest_checkout_enabled"),
        ("settings.loyalty", "loyalty_points_per_unit"),
        ("settings.payment_method", "manual"),
        ("settings.policy", "returns"),
    }
    assert {(e.actor, e.actor_kind) for e in rows} == {(key, "key")}
    by_target = {e.target: e.detail for e in rows}
    assert (by_target["guest_checkout_enabled"]["before"], by_target["guest_checkout_enabled"]["after"]) == (
        True,
        False,
    )
    assert (
        by_target["loyalty_points_per_unit"]["before"],
        by_target["loyalty_points_per_unit"]["after"],
    ) == ("0", "2")
    policy = by_target["returns"]
    assert (policy["before"], policy["after"], policy["text"]) == ("2025-11", "2026-12", "60 days")
    assert policy["text_before"].startswith("Return unused items")

    # The same values again change nothing, so nothing more is logged.
    assert (
        await change(client, admin, {"guest_checkout_enabled": False, "loyalty_points_per_unit": "2.0"})
    ).status_code == 200
    assert len(await log()) == len(rows)


async def test_policy_versions_published_at_the_same_moment(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Two operators publish at once: each answer is the new settings or a 409 naming the field,
    never a server error, and no version name is used twice."""
    bodies = [{"policies": {"privacy": {"summary": f"Wording {n}"}}} for n in range(4)]
    answers = await asyncio.gather(*(change(client, admin, body) for body in bodies))
    assert {r.status_code for r in answers} <= {200, 409}, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert problem_field(r) == "policies.privacy.version"
    privacy = next(
        p for p in (await client.get(SETTINGS, headers=admin)).json()["policies"] if p["id"] == "privacy"
    )
    names = [v["version"] for v in privacy["versions"]]
    assert len(names) == len(set(names))
    assert privacy["version"] == names[0]
