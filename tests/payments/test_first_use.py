"""Libraries a web process loads late (tests/test_startup_imports.py) work on their first use in a
fresh `ordergate serve` process: the buyer's pages (Babel's formatting, Jinja), the MCP endpoint,
the order's sealed link (cryptography's AES-GCM) and a Stripe PaymentIntent opened after the
placement (httpx; the fake Stripe server speaks Stripe's documented API, tests/payments/servers.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.notifications.sealing import unseal
from ordergate.notifications.service import link_context
from ordergate.orders.models import Order
from ordergate.security import hash_token
from ordergate.settings import Settings
from tests.agent.test_transports import ACCEPT, rpc
from tests.factories import Buyer
from tests.payments.helpers import demo_and_card_shop, prepared
from tests.payments.servers import Stripe
from tests.served import serve


def test_late_libraries_work_on_first_use(tmp_path: Path, stripe: Stripe) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first.db'}"
    settings = Settings(database_url=url, demo=True, var_dir=tmp_path / "var")
    migrate(url)

    asyncio.run(demo_and_card_shop(settings, stripe))
    with serve(url, tmp_path, ORDERGATE_MCP_HTTP="1") as served:

        async def first_uses() -> dict[str, object]:
            async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
                page = await client.get("/s/demo", headers={"Accept-Language": "de-DE"})
                assert page.status_code == 200, page.text
                assert "14,50\xa0€" in page.text  # Babel, German number format
                tools = await client.post("/mcp", json=rpc("tools/list"), headers=ACCEPT)
                assert tools.status_code == 200, tools.text
                assert tools.json()["result"]["tools"]
                order = await Buyer(client, store="shop").order(method="card")
                view = await prepared(client, str(order["token"]))
                return {"order": order, "view": view}

        seen = asyncio.run(first_uses())
    order, view = seen["order"], seen["view"]
    assert isinstance(order, dict)
    assert isinstance(view, dict)
    intent = str(view["payment"]["destination"])
    assert stripe.intents[intent]["client_secret"] not in json.dumps(view)  # the page's alone
    [form] = stripe.forms
    assert form["metadata[ordergate_order]"] == order["number"]

    async def link_seal() -> str | None:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                return await session.scalar(
                    select(Order.link_seal).where(Order.token_hash == hash_token(str(order["token"])))
                )
        finally:
            await engine.dispose()

    # The served process sealed the tracking link with the demo key the worker shares (var_dir).
    sealed = asyncio.run(link_seal())
    assert sealed is not None
    context = link_context(hash_token(str(order["token"])))
    assert unseal(settings, sealed, context=context) == order["token"]
