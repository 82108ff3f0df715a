"""The console's settings page: each form changes what buyers see and what placement accepts, with
errors beside their fields, what was typed kept, and a stale form (CSRF) refused with nothing changed."""

from __future__ import annotations

import httpx

from ordergate import security
from tests.console.helpers import post, sign_in, text_of
from tests.factories import ADMIN_KEY, Buyer

STORE = "/api/v1/stores/demo"
SETTINGS = "/admin/settings"


async def api_settings(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, object]:
    return dict((await client.get(f"{STORE}/admin/settings", headers=admin)).json())


async def test_guest_checkout_off_with_a_note_then_on(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    page = await client.get(SETTINGS)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for heading in (
        "Guest checkout",
        "Policies",
        "Delivery fields",
        "Payment methods",
        "Notifications",
        "Loyalty",
    ):
        assert heading in page.text
    assert 'href="/admin/settings" aria-current="page"' in page.text

    r = await post(client, f"{SETTINGS}/guest", {"note": "Back on Monday: stocktake"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/settings?done=guest")
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is False
    assert "Back on Monday: stocktake" in (await client.get("/s/demo")).text
    shown = text_of((await client.get(r.headers["location"])).text)
    assert "Guest checkout saved" in shown
    assert "cannot check out as guests" in shown

    long = await post(client, f"{SETTINGS}/guest", {"enabled": "on", "note": "x" * 301})
    assert long.status_code == 422
    assert 'id="guest-note-error"' in long.text
    assert "x" * 301 in long.text  # what was typed is kept
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is False  # nothing changed

    assert (await post(client, f"{SETTINGS}/guest", {"enabled": "on", "note": ""})).status_code == 303
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True


async def test_policy_versions_from_the_console(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await sign_in(client)
    buyer = Buyer(client)
    chk = await buyer.ready()
    before = await buyer.policies()

    empty = await post(
        client,
        f"{SETTINGS}/policies/terms",
        {"title": "", "summary": "Free returns for 60 days", "version": ""},
    )
    assert empty.status_code == 422
    assert 'id="policy-terms-title-error"' in empty.text
    assert "Free returns for 60 days" in empty.text

    ok = await post(
        client,
        f"{SETTINGS}/policies/terms",
        {"title": "Terms of sale", "summary": "Free returns for 60 days"},
    )
    assert ok.status_code == 303
    terms = next(p for p in (await client.get(STORE)).json()["policies"] if p["id"] == "terms")
    assert terms["summary"] == "Free returns for 60 days"
    assert terms["version"] != "2026-01"
    page = await client.get(SETTINGS)
    assert "Earlier versions (1)" in page.text
    assert "/s/demo/policies/terms?version=2026-01" in page.text

    stale_page = await client.post(
        f"{STORE}/checkouts/{chk['id']}/orders",
        json={"payment_method": "sandbox", "accepted_policies": before},
        headers={"Idempotency-Key": "stale"},
    )
    assert stale_page.status_code == 422
    assert stale_page.json()["errors"][0]["field"] == "accepted_policies"
    placed = await buyer.place(chk["id"])
    assert placed.status_code == 201
    # The order names the version it accepted, and leads to that version's wording.
    order_page = await client.get(f"/admin/orders/{placed.json()['number']}")
    link = f"/s/demo/policies/terms?version={terms['version']}"
    assert f'href="{link}"' in order_page.text
    assert "Free returns for 60 days" in (await client.get(link)).text

    taken = await post(
        client, f"{SETTINGS}/policies/terms", {"title": "Terms", "summary": "Again", "version": "2026-01"}
    )
    assert taken.status_code == 409
    assert 'id="policy-terms-version-error"' in taken.text
    assert 'value="2026-01"' in taken.text
    assert ">Again</textarea>" in taken.text
    unknown = await post(client, f"{SETTINGS}/policies/cookies", {"title": "Cookies", "summary": ""})
    assert unknown.status_code == 404


async def test_payment_methods_delivery_notifications_loyalty(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await sign_in(client)
    r = await post(client, f"{SETTINGS}/payments", {"method-manual": "on"})
    assert r.status_code == 303
    methods = {m["id"]: m["ready"] for m in (await client.get(STORE)).json()["payment_methods"]}
    assert methods == {"sandbox": False, "manual": True}
    last = await post(client, f"{SETTINGS}/payments", {})
    assert last.status_code == 409
    assert 'id="payments-manual-error"' in last.text
    assert "last payment method" in text_of(last.text)
    assert (
        'id="payments-manual" type="checkbox" name="method-manual" value="on" aria' in last.text
    )  # kept unticked
    assert (
        await post(client, f"{SETTINGS}/payments", {"method-manual": "on", "method-sandbox": "on"})
    ).status_code == 303

    fields = {
        "field-name": "required",
        "field-address_line1": "required",
        "field-city": "required",
        "field-region": "required",
        "field-postal_code": "optional",
        "field-country": "required",
        "field-instructions": "optional",
    }
    assert (await post(client, f"{SETTINGS}/delivery", fields)).status_code == 303
    shown = {f["name"]: f["required"] for f in (await client.get(STORE)).json()["delivery_fields"]}
    assert shown["region"] is True
    assert shown["postal_code"] is False
    assert "address_line2" not in shown

    assert (await post(client, f"{SETTINGS}/notifications", {"channel-email": "on"})).status_code == 303
    assert (await api_settings(client, admin))["notification_channels"] == ["email"]

    bad = await post(client, f"{SETTINGS}/loyalty", {"points": "lots"})
    assert bad.status_code == 422
    assert 'id="loyalty-points-error"' in bad.text
    assert 'value="lots"' in bad.text
    negative = await post(client, f"{SETTINGS}/loyalty", {"points": "-1"})
    assert "0 turns loyalty points off" in text_of(negative.text)
    assert (await post(client, f"{SETTINGS}/loyalty", {"points": "1.5"})).status_code == 303
    assert (await api_settings(client, admin))["loyalty_points_per_unit"] == "1.5"
    assert (await post(client, f"{SETTINGS}/loyalty", {"points": ""})).status_code == 303
    assert (await api_settings(client, admin))["loyalty_points_per_unit"] == "0"


async def test_a_stale_form_changes_nothing(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    r = await client.post(f"{SETTINGS}/guest", data={"note": "Closed", "csrf": "stale"})
    assert r.status_code == 403
    assert "nothing was changed" in text_of(r.text)
    assert ">Closed</textarea>" in r.text
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True


async def test_settings_need_a_console_session(client: httpx.AsyncClient) -> None:
    assert (await client.get(SETTINGS)).status_code == 303
    r = await client.post(f"{SETTINGS}/guest", data={"note": "x"})
    assert r.status_code in (303, 403)
    assert (await client.get(STORE)).json()["guest_checkout"]["available"] is True


async def test_console_changes_are_in_the_audit_log(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    assert (await post(client, f"{SETTINGS}/notifications", {"channel-email": "on"})).status_code == 303
    assert (await post(client, f"{SETTINGS}/loyalty", {"points": "bad"})).status_code == 422  # not logged
    audit = text_of((await client.get("/admin/audit", params={"action": "settings"})).text)
    assert "settings.notification_channels" in audit
    assert f"key {security.operator_key_id(ADMIN_KEY)}" in audit
    assert "settings.loyalty" not in audit
