"""Console bundle pages: proposals from sales, a percent set and approved (errors beside the field,
what was typed kept), retired and offered again; every form refuses a missing or wrong CSRF token."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.console.helpers import csrf_of, post, sign_in, text_of
from tests.recommendations.bundle_helpers import BUNDLES, cart, history


def _bundle_id(html: str) -> str:
    match = re.search(r'action="/admin/bundles/(\d+)/approve"', html)
    assert match, html[:500]
    return match.group(1)


async def test_propose_approve_retire_and_offer_again_from_the_console(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    await sign_in(client)
    empty = await client.get("/admin/bundles")
    assert empty.status_code == 200
    assert 'href="/admin/bundles"' in empty.text  # the console's own section
    assert "No proposals waiting" in text_of(empty.text)

    nothing = await post(client, "/admin/bundles/propose", {"min_orders": "3"})
    assert nothing.status_code == 303
    assert nothing.headers["location"] == "/admin/bundles?done=none"

    bad = await post(client, "/admin/bundles/propose", {"min_orders": "three"})
    assert bad.status_code == 422
    assert 'id="propose-min-orders-error"' in bad.text
    assert 'value="three"' in bad.text

    await history(client, sessionmaker)
    r = await post(client, "/admin/bundles/propose", {"min_orders": "3"})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/bundles?done=proposed"
    page = await client.get(r.headers["location"])
    shown = text_of(page.text)
    assert "A5 dotted notebook with Fine liner, black (3-pack)" in shown
    assert "bought together in 3 orders" in shown
    bundle = _bundle_id(page.text)

    # Nothing is discounted before approval.
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.00"

    for typed in ("0", "91", "ten", ""):
        refused = await post(client, f"/admin/bundles/{bundle}/approve", {"percent_off": typed})
        assert refused.status_code == 422, typed
        assert f'id="bundle-{bundle}-percent-off-error"' in refused.text
        assert f'value="{typed}"' in refused.text
        assert 'aria-invalid="true"' in refused.text
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.00"

    r = await post(client, f"/admin/bundles/{bundle}/approve", {"percent_off": "20"})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/bundles?done=approved"
    shown = text_of((await client.get(r.headers["location"])).text)
    assert "Offered to every buyer (1)" in shown
    assert "20 % off Fine liner, black (3-pack)" in shown
    assert "Saves €1.58" in shown
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "1.58"
    api = (await client.get(f"{BUNDLES}/{bundle}", headers=admin)).json()
    assert api["approved_by"].startswith("key ")

    r = await post(client, f"/admin/bundles/{bundle}/retire")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/bundles?done=retired"
    assert "Retired (1)" in text_of((await client.get(r.headers["location"])).text)
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.00"
    twice = await post(client, f"/admin/bundles/{bundle}/retire")
    assert twice.status_code == 409
    assert "already retired" in text_of(twice.text)

    r = await post(client, f"/admin/bundles/{bundle}/approve", {"percent_off": "5"})
    assert r.status_code == 303
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.40"
    missing = await post(client, "/admin/bundles/999999/retire")
    assert missing.status_code == 404


async def test_every_bundle_form_needs_the_csrf_token(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await sign_in(client)
    await history(client, sessionmaker)
    assert (await post(client, "/admin/bundles/propose", {"min_orders": "3"})).status_code == 303
    bundle = _bundle_id((await client.get("/admin/bundles")).text)
    forms = [
        ("/admin/bundles/propose", {"min_orders": "1"}),
        (f"/admin/bundles/{bundle}/approve", {"percent_off": "30"}),
        (f"/admin/bundles/{bundle}/retire", {}),
    ]
    assert csrf_of(client)
    for path, data in forms:
        for token in (None, "wrong"):
            body = dict(data) if token is None else {**data, "csrf": token}
            r = await client.post(path, data=body)
            assert r.status_code == 403, path
            assert "nothing was changed" in text_of(r.text)
    listing = (await client.get("/admin/bundles")).text
    assert "Offered to every buyer (" not in text_of(listing)  # nothing approved
    assert "No bundle is offered" in text_of(listing)
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.00"


async def test_the_bundles_page_needs_a_signed_in_operator(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/bundles")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/sign-in")
    r = await client.post("/admin/bundles/propose", data={"min_orders": "1"})
    assert r.status_code in (303, 403)
