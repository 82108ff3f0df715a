"""Service routes and the OpenAPI document."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from ordergate import clock
from ordergate.app import create_app
from ordergate.db import DatabaseNotReady
from tests.conftest import make_settings
from tests.factories import Buyer, load_demo_store

METRICS_TOKEN = "metrics-" + "m" * 24


async def test_health_ready_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    await Buyer(client).order()
    text = (await client.get("/metrics")).text
    assert "# TYPE ordergate_http_request_duration_seconds histogram" in text
    assert 'route="/api/v1/stores/{store}/checkouts/{checkout_id}/orders"' in text
    # No metrics token configured: no business figures for whoever asks.
    assert "ordergate_orders" not in text
    assert "ordergate_payment_instructions" not in text


async def test_business_gauges_need_the_metrics_token_and_are_read_once_per_interval(
    database_url: str,
) -> None:
    app = create_app(make_settings(database_url, metrics_token=METRICS_TOKEN, metrics_refresh_seconds=60))
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session, session.begin():
            await load_demo_store(session)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await Buyer(client).order()
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
                r = await client.get("/metrics", headers=headers)
                assert r.status_code == 401
                assert r.headers["www-authenticate"] == "Bearer"
            scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            text = (await client.get("/metrics", headers=scrape)).text
            assert "# TYPE ordergate_http_request_duration_seconds histogram" in text
            assert 'ordergate_orders{status="awaiting_payment",store="demo"} 1.0' in text
            assert "# TYPE ordergate_outbox_rows gauge" in text
            assert "# TYPE ordergate_intake_stored gauge" in text
            assert (
                'ordergate_payment_instructions{kind="sandbox",order_status="awaiting_payment"} 1.0' in text
            )
            await Buyer(client).order()
            text = (await client.get("/metrics", headers=scrape)).text
            assert 'ordergate_orders{status="awaiting_payment",store="demo"} 1.0' in text  # not re-read yet
            clock.advance(timedelta(seconds=61))
            text = (await client.get("/metrics", headers=scrape)).text
            assert 'ordergate_orders{status="awaiting_payment",store="demo"} 2.0' in text


async def test_metrics_and_logs_never_hold_tokens(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    order = await Buyer(client).order()
    await client.get(f"/api/v1/stores/demo/orders/{order['token']}")
    assert order["token"] not in (await client.get("/metrics")).text
    out = capsys.readouterr()
    assert order["token"] not in out.out + out.err


async def test_openapi_describes_the_contract(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in [
        "/api/v1/stores/{store}",
        "/api/v1/stores/{store}/products",
        "/api/v1/stores/{store}/checkouts",
        "/api/v1/stores/{store}/checkouts/{checkout_id}",
        "/api/v1/stores/{store}/checkouts/{checkout_id}/quote",
        "/api/v1/stores/{store}/checkouts/{checkout_id}/orders",
        "/api/v1/stores/{store}/orders/{token}",
        "/api/v1/stores/{store}/orders/{token}/refresh",
        "/api/v1/stores/{store}/admin/orders/{number}/shipments",
        "/api/v1/sandbox/stores/{store}/orders/{token}/payments",
    ]:
        assert path in paths, path
    create = paths["/api/v1/stores/{store}/checkouts/{checkout_id}/orders"]["post"]["responses"]
    assert {"201", "200", "409", "410", "422"} <= set(create)
    assert "application/problem+json" in create["409"]["content"]


async def test_app_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/empty.db"))
    with pytest.raises(DatabaseNotReady, match="run `ordergate migrate`"):
        async with app.router.lifespan_context(app):
            pass


async def test_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.options("/api/v1/account/passkeys/sign-in")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    r = await client.options("/api/v1/account/passkeys")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_what_any_route_can_answer(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert {"400", "429"} <= set(operation["responses"]), (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= set(operation["responses"]), (method, path)


async def test_api_docs_load_nothing_from_another_origin(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).headers["location"] == "/docs"
    for page in ("/docs",):
        r = await client.get(page)
        assert r.status_code == 200
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "http" not in policy
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)""", r.text)
        assert urls
        assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        for url in urls:
            if url != "/openapi.json":
                assert (await client.get(url)).status_code == 200, url
