"""Bad input gets a clear problem+json naming the field, never a 500."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SKU, Buyer

BASE = "/api/v1/stores/demo"
PROBLEM = "application/problem+json"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{BASE}/checkouts", content=b'{"items": [', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "malformed-body"


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/checkouts", content=b"items=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert r.headers["content-type"] == PROBLEM


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = {"items": [{"sku": SKU, "quantity": 1}], "delivery": {"instructions": "x" * 70_000}}
    r = await client.post(f"{BASE}/checkouts", json=body)
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM

    async def chunks():  # no Content-Length: the limit holds on the streamed body too
        for _ in range(20):
            yield b" " * 8192

    r = await client.post(f"{BASE}/checkouts", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_validation_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/checkouts", json={"items": [{"sku": SKU, "quantity": "many"}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "items[0].quantity"
    r = await client.post(f"{BASE}/checkouts", json=None)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


async def test_unknown_paths_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    r = await client.delete(f"{BASE}/checkouts")
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM


async def test_order_needs_contact_delivery_and_current_policies(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.open()
    r = await buyer.place(chk["id"])
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields[0] == "contact"
    assert "delivery.postal_code" in fields
    ready = await buyer.ready()
    r = await client.post(
        f"{BASE}/checkouts/{ready['id']}/orders",
        json={"payment_method": "sandbox", "accepted_policies": ["terms@2026-01", "privacy@2020-01"]},
    )
    assert r.status_code == 422
    messages = [e["message"] for e in r.json()["errors"]]
    assert any("Privacy notice is now version 2026-01" in m for m in messages)
    assert any("Returns policy" in m for m in messages)
    r = await client.post(
        f"{BASE}/checkouts/{ready['id']}/orders",
        json={"payment_method": "bitcoin-lightning", "accepted_policies": await buyer.policies()},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "payment_method"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "items",
                    "sku",
                    "quantity",
                    "contact",
                    "email",
                    "phone",
                    "phone_region",
                    "delivery",
                    "country",
                    "payment_method",
                    "accepted_policies",
                    "amount",
                    "confirmations",
                    "name",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
async def test_no_body_makes_a_500(client: httpx.AsyncClient, body: object) -> None:
    chk = await Buyer(client).open()
    for method, path in [
        ("POST", f"{BASE}/checkouts"),
        ("PATCH", f"{BASE}/checkouts/{chk['id']}"),
        ("POST", f"{BASE}/checkouts/{chk['id']}/orders"),
        ("POST", f"/api/v1/sandbox/stores/demo/orders/{'Z' * 40}/payments"),
    ]:
        r = await client.request(
            method, path, content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert r.status_code < 500, (method, path, body, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"] == PROBLEM


async def test_nul_characters_are_refused_at_the_door(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # No database text column can hold NUL: it must never reach one as a 500.
    r = await client.post(
        f"{BASE}/checkouts", json={"items": [{"sku": SKU, "quantity": 1}], "delivery": {"name": "A\u0000B"}}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
    assert (await client.get("/api/v1/stores/%00")).status_code == 400
    r = await client.get(f"{BASE}/admin/orders?status=%00", headers=admin)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "query"
    order = await Buyer(client).order()
    r = await client.post(
        f"{BASE}/admin/orders/{order['number']}/cancel", json={"reason": "x\u0000"}, headers=admin
    )
    assert r.status_code == 422
    r = await client.post(
        "/s/demo/checkout",
        content=b"sku=%00&qty=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422
