"""The assistant tools over an in-process MCP client: they say what the guest API says, and prepare carts."""

from __future__ import annotations

import json
import re

import httpx
from fastapi import FastAPI
from mcp import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ordergate import security
from ordergate.agent.server import build_server
from ordergate.orders.status import MILESTONES
from ordergate.settings import Settings
from tests.agent.support import TOOLS, assistant, ledger, ok, refused
from tests.factories import DELIVERY, SKU, Buyer, make_store
from tests.recommendations.helpers import settle


async def test_tools_are_listed_and_say_they_cannot_order(app: FastAPI, settings: Settings) -> None:
    async with assistant(app, settings) as mcp:
        assert mcp.instructions is not None
        assert "No tool can place an order" in mcp.instructions
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        assert "No tool can place an order" in tool.description, tool.name
        assert '"Place order"' in tool.description
        assert tool.input_schema["additionalProperties"] is False, tool.name
        assert tool.output_schema is not None
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (tool.name != "prepare_checkout")
    assert tools["prepare_checkout"].annotations.destructive_hint is False  # type: ignore[union-attr]
    assert "does NOT place an order" in (tools["prepare_checkout"].description or "")


async def test_describe_store_matches_store_discovery(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient
) -> None:
    async with assistant(app, settings) as mcp:
        store = ok(await mcp.call_tool("describe_store", {"store": "demo"}))
    public = (await client.get("/api/v1/stores/demo")).json()
    for key in (
        "slug",
        "name",
        "currency",
        "guest_checkout",
        "payment_methods",
        "policies",
        "delivery_fields",
    ):
        assert store[key] == public[key], key
    assert store["guest_checkout"] == {"available": True, "reason": None}
    assert store["storefront_url"] == "http://test/s/demo"
    assert store["shipping_flat"] == "4.90"
    assert "No tool can place an order" in store["assistant_limits"]


async def test_store_without_guest_checkout_is_explained_and_gets_no_cart(
    app: FastAPI, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="closed", guest_checkout=False)
    async with assistant(app, settings) as mcp:
        store = ok(await mcp.call_tool("describe_store", {"store": "closed"}))
        assert store["guest_checkout"] == {"available": False, "reason": "disabled"}
        message = refused(
            await mcp.call_tool(
                "prepare_checkout", {"store": "closed", "items": [{"sku": SKU, "quantity": 1}]}
            )
        )
    assert "does not take guest orders right now (disabled)" in message
    assert (await ledger(sessionmaker))["checkouts"] == 0


async def test_list_and_search_products(app: FastAPI, settings: Settings, client: httpx.AsyncClient) -> None:
    public = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    async with assistant(app, settings) as mcp:
        everything = ok(await mcp.call_tool("list_products", {"store": "demo"}))
        pens = ok(await mcp.call_tool("list_products", {"store": "demo", "query": "PEN"}))
        notebook = ok(await mcp.call_tool("list_products", {"store": "demo", "query": "dotted notebook"}))
        nothing = ok(await mcp.call_tool("list_products", {"store": "demo", "query": "umbrella"}))
        first = ok(await mcp.call_tool("list_products", {"store": "demo", "query": "pen", "limit": 1}))
    assert everything["items"] == public
    assert everything["count"] == 4
    assert everything["query"] is None
    assert [p["sku"] for p in pens["items"]] == ["PEN-FINE-BLK", "CASE-CANVAS"]
    assert [p["sku"] for p in notebook["items"]] == [SKU]
    assert nothing == {"store": "demo", "query": "umbrella", "count": 0, "items": []}
    assert first["count"] == 2
    assert len(first["items"]) == 1


async def test_explain_checkout_steps_and_milestones(app: FastAPI, settings: Settings) -> None:
    async with assistant(app, settings) as mcp:
        guide = ok(await mcp.call_tool("explain_checkout", {"store": "demo"}))
    steps = {s["name"]: s for s in guide["steps"]}
    assert list(steps) == ["cart", "contact", "delivery", "review", "place order", "pay"]
    assert steps["cart"]["done_by"] == "assistant or buyer"
    assert all(s["done_by"] == "buyer only" for name, s in steps.items() if name != "cart")
    assert "No assistant tool can do this step" in steps["place order"]["what_happens"]
    assert "Terms of sale (version 2026-01)" in steps["place order"]["what_happens"]
    assert "name, address_line1, city, postal_code, country" in steps["delivery"]["what_happens"]
    assert [m["status"] for m in guide["milestones"]] == list(MILESTONES)
    assert [m["status"] for m in guide["other_outcomes"]] == ["expired", "cancelled"]
    assert all(m["proves"] for m in guide["milestones"] + guide["other_outcomes"])
    options = {o["id"]: o for o in guide["payment_options"]}
    assert options["sandbox"]["pay_within"] == "15 minutes"
    assert options["sandbox"]["required_confirmations"] == 2
    assert options["manual"]["pay_within"] == "3 days"
    assert guide["checkout_expires_after"] == "24 hours after its last change"


async def test_prepared_cart_is_placed_by_the_buyer_only(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = await ledger(sessionmaker)
    async with assistant(app, settings) as mcp:
        items = [
            {"sku": SKU, "quantity": 1},
            {"sku": "STICKY-SET", "quantity": 2},
            {"sku": SKU, "quantity": 1},
        ]
        prepared = ok(await mcp.call_tool("prepare_checkout", {"store": "demo", "items": items}))
        assert prepared["status"] == "open"
        assert prepared["prepared_by"] == "assistant"
        assert [(i["sku"], i["quantity"]) for i in prepared["items"]] == [(SKU, 2), ("STICKY-SET", 2)]
        assert prepared["totals"] == {
            "subtotal": "35.40",
            "shipping": "4.90",
            "total": "40.30",
            "currency": "EUR",
            "discount": "0.00",
            "discounts": [],
        }
        assert prepared["missing"] == ["contact", *[f"delivery.{f}" for f in DELIVERY]]
        assert prepared["resume_url"] == f"http://test/s/demo/checkout/{prepared['id']}"
        assert prepared["resume_url"] in prepared["next_step"]
        assert "Place order" in prepared["next_step"]
        assert prepared["order_number"] is None
        assert prepared["tracking_url"] is None

        # Preparing made a cart and nothing else: no order, no stock held, no payment instruction.
        after = await ledger(sessionmaker)
        assert after == {**before, "checkouts": before["checkouts"] + 1}

        # The buyer opens the link, sees it came from an assistant, fills in their details and places it.
        base = f"/api/v1/stores/demo/checkouts/{prepared['id']}"
        seen = (await client.get(base)).json()
        assert seen["prepared_by"] == "assistant"
        assert seen["items"] == prepared["items"]
        r = await client.patch(base, json={"contact": {"email": "ada@example.org"}, "delivery": DELIVERY})
        assert r.status_code == 200
        assert r.json()["missing"] == []
        # Not through the JSON API: an assistant holding the link could call that too.
        refused_by_api = await Buyer(client).place(prepared["id"])
        assert refused_by_api.status_code == 409
        assert "checkout page" in refused_by_api.json()["detail"]
        assert (await ledger(sessionmaker))["orders"] == before["orders"]
        # The buyer presses "Place order" on the checkout page (a CSRF-checked form).
        page = await client.get(f"/s/demo/checkout/{prepared['id']}")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert page.status_code == 200, page.text[:500]
        assert csrf, page.text[:500]
        form = {
            "csrf": csrf.group(1),
            "idempotency_key": "assistant-cart-1",
            "policy": [
                f"{p['id']}@{p['version']}"
                for p in (await client.get("/api/v1/stores/demo")).json()["policies"]
            ],
            "payment_method": "sandbox",
            "accept_policies": "yes",
            "action": "place",
            "contact.email": "ada@example.org",
            **{f"delivery.{k}": v for k, v in DELIVERY.items()},
        }
        placed = await client.post(f"/s/demo/checkout/{prepared['id']}", data=form)
        assert placed.status_code == 303, placed.text[:2000]
        tracking_path = placed.headers["location"]
        order = (await client.get("/api/v1/stores/demo/orders/" + tracking_path.rsplit("/", 1)[-1])).json()
        order["tracking_url"] = (
            "http://test" + tracking_path if tracking_path.startswith("/") else tracking_path
        )
        assert (await ledger(sessionmaker))["orders"] == before["orders"] + 1

        # What the assistant was handed (the checkout id, in resume_url) now reads nothing of the buyer's:
        # not the checkout, not the page, not the order, and the tracking token cannot be worked out from it.
        assert (await client.get(base)).status_code == 410
        assert (await client.get(f"/s/demo/checkout/{prepared['id']}")).status_code == 410
        again = await Buyer(client).place(prepared["id"])  # named again (API.md), without its link
        assert (again.status_code, again.json()["token"], again.json()["tracking_url"]) == (200, None, None)
        assert order["token"] not in again.text
        assert order["token"] != security.legacy_order_token_for_checkout(prepared["id"])
        refused(await mcp.call_tool("track_order", {"store": "demo", "token": prepared["resume_url"]}))
        refused(await mcp.call_tool("track_order", {"store": "demo", "token": prepared["id"]}))

        # The buyer gives the assistant the token (or the whole link): it reads the tracking view.
        by_token = ok(await mcp.call_tool("track_order", {"store": "demo", "token": order["token"]}))
        by_link = ok(await mcp.call_tool("track_order", {"store": "demo", "token": order["tracking_url"]}))
    public = (await client.get(f"/api/v1/stores/demo/orders/{order['token']}")).json()
    assert by_token == by_link == public
    assert by_token["status"] == "awaiting_payment"
    assert by_token["contact_hint"] == "a•••@e•••.org"
    text = json.dumps(by_token)
    assert "ada@example.org" not in text
    assert DELIVERY["address_line1"] not in text
    assert DELIVERY["postal_code"] not in text


async def test_tracking_link_of_another_store_is_named(app: FastAPI, settings: Settings) -> None:
    async with assistant(app, settings) as mcp:
        message = refused(
            await mcp.call_tool(
                "track_order", {"store": "demo", "token": "https://shop.example/s/other/orders/" + "t" * 32}
            )
        )
    assert "This tracking link is for the store 'other'" in message


async def test_errors_are_tool_errors_and_each_call_is_its_own_transaction(
    app: FastAPI, settings: Settings
) -> None:
    async with assistant(app, settings) as mcp:
        assert "store: No store with this name" in refused(
            await mcp.call_tool("describe_store", {"store": "nope"})
        )
        assert "order: No such order in this store" in refused(
            await mcp.call_tool("track_order", {"store": "demo", "token": "x" * 32})
        )
        assert "items[0].sku: no product 'NOPE' in this store" in refused(
            await mcp.call_tool(
                "prepare_checkout", {"store": "demo", "items": [{"sku": "NOPE", "quantity": 1}]}
            )
        )
        # The failed calls left nothing half-done behind: the next call works on a clean transaction.
        ok(await mcp.call_tool("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 1}]}))


async def test_database_outage_is_a_clear_tool_error() -> None:
    url = "sqlite+aiosqlite:////dev/null/ordergate.db"  # a file under a non-directory: never opens
    engine = create_async_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with Client(
            build_server(Settings(database_url=url, demo=True), lambda: maker), mode="legacy"
        ) as mcp:
            message = refused(await mcp.call_tool("describe_store", {"store": "demo"}))
    finally:
        await engine.dispose()
    assert "The store's database is not available right now" in message
    assert "/dev/null" not in message


async def test_suggest_with_cart_reads_only(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    for _ in range(2):
        await Buyer(client).order()  # the notebook alone: popular
    await settle(sessionmaker)
    before = await ledger(sessionmaker)
    async with assistant(app, settings) as mcp:
        got = ok(
            await mcp.call_tool(
                "suggest_with_cart", {"store": "demo", "items": [{"sku": "PEN-FINE-BLK", "quantity": 2}]}
            )
        )
        bad = refused(await mcp.call_tool("suggest_with_cart", {"store": "demo", "items": []}))
    assert got["cart"] == ["PEN-FINE-BLK"]
    assert [(i["sku"], i["reason"]) for i in got["items"]] == [(SKU, "popular")]
    assert "items" in bad
    assert await ledger(sessionmaker) == before  # no checkout, no order, nothing reserved
