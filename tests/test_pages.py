"""Buyer pages over HTTP with JavaScript off: forms, CSRF, errors, headers, expiry, credential isolation."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from tests.factories import ADMIN_KEY, DELIVERY, SKU, make_store

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def open_checkout(client: httpx.AsyncClient, *items: tuple[str, int]) -> str:
    """Storefront -> cart -> "Checkout as guest", as a browser without JavaScript does it."""
    page = await client.get("/s/demo")
    token = csrf_of(page.text)
    form = {"csrf": token, "sku": [s for s, _ in items], "qty": [str(q) for _, q in items]}
    r = await client.post("/s/demo/checkout", data=form)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}", location)
    return location


def checkout_form(html: str, **overrides: str) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf": csrf_of(html),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
        "policy": re.findall(r'name="policy" value="([^"]+)"', html),
        "contact.email": "ada@example.com",
        "contact.phone": "",
        "contact.phone_region": "GB",
        **{f"delivery.{k}": v for k, v in DELIVERY.items()},
        "payment_method": "sandbox",
        "action": "place",
    }
    form.update(overrides)
    return form


async def place(client: httpx.AsyncClient, **overrides: str) -> str:
    path = await open_checkout(client, (SKU, 2))
    page = await client.get(path)
    r = await client.post(path, data=checkout_form(page.text, **overrides))
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


async def test_storefront_lists_products_in_the_buyers_locale(client: httpx.AsyncClient) -> None:
    r = await client.get("/s/demo")
    assert r.status_code == 200
    assert "Fieldnotes Supply Co." in r.text
    assert "A5 dotted notebook" in r.text
    assert "€14.50" in r.text  # the store's locale (en_IE) without an Accept-Language
    assert "In stock" in r.text
    german = await client.get("/s/demo", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "14,50\xa0€" in german.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    # No inline script or style: every <script> has a src, no style or on* attributes.
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)
    assert not re.search(r"\sstyle=|\son[a-z]+=", r.text)
    assert r.cookies.get("og_csrf")


async def test_add_to_cart_keeps_the_cart_in_the_address(client: httpx.AsyncClient) -> None:
    page = await client.get("/s/demo")
    r = await client.post("/s/demo/cart", data={"csrf": csrf_of(page.text), "cart": "", "add": SKU})
    assert r.status_code == 303
    assert r.headers["location"] == f"/s/demo?sku={SKU}&qty=1&added={SKU}#cart"
    page = await client.get(r.headers["location"].split("#")[0])
    assert "Added A5 dotted notebook to your cart." in page.text
    assert "Checkout as guest" in page.text
    # Garbage quantities are dropped, never a 500.
    r = await client.post(
        "/s/demo/cart", data={"csrf": csrf_of(page.text), "sku": [SKU, "NOPE"], "qty": ["abc", "2"]}
    )
    assert r.status_code == 303
    assert (await client.get(r.headers["location"].split("#")[0])).status_code == 200


async def test_forms_without_the_csrf_token_change_nothing(client: httpx.AsyncClient) -> None:
    await client.get("/s/demo")
    r = await client.post("/s/demo/checkout", data={"csrf": "forged-" + "x" * 40, "sku": SKU, "qty": "1"})
    assert r.status_code == 403
    assert "Please try again" in r.text
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://test")  # no cookie at all
    async with fresh:
        r = await fresh.post("/s/demo/checkout", data={"csrf": "x" * 43, "sku": SKU, "qty": "1"})
    assert r.status_code == 403


async def test_checkout_page_starts_with_the_first_field_and_asks_five(client: httpx.AsyncClient) -> None:
    path = await open_checkout(client, (SKU, 2), ("CASE-CANVAS", 1))
    r = await client.get(path)
    assert r.status_code == 200
    html = r.text
    assert r.headers["x-robots-tag"] == "noindex, nofollow"
    assert '<meta name="robots"' in html
    # The first thing in the page's main part is the first field: nothing to read before it.
    main = html[html.index("<main") :]
    first_field = main.index('id="contact-email"')
    assert "Terms of sale" not in main[:first_field]
    assert "<svg" not in main[:first_field]
    order = [
        main.index(k)
        for k in (
            'id="contact-email"',
            'id="delivery-name"',
            'name="payment_method"',
            "Place order",
            "By placing this order you accept",
            "Continue on another device",
            "Order summary",  # the side column on a desktop: items and totals
            "Not reserved",
        )
    ]
    assert order == sorted(order)
    # Policies are accepted by the statement beside "Place order", with their versions: no checkbox.
    statement = re.sub(
        r"<[^>]+>", "", re.search(r'<p class="accept-statement"[^>]*>(.*?)</p>', html, re.S)[1]
    )  # type: ignore[index]
    assert statement == (
        "By placing this order you accept Terms of sale 2026-01, Privacy notice 2026-01"
        " and Returns policy 2025-11."
    )
    assert 'type="checkbox"' not in html
    assert "/s/demo/policies/terms" in html
    # The resume QR is there on demand, inside "Continue on another device".
    details = html[html.index('<details class="resume">') : html.index("</details>")]
    assert "<svg" in details
    assert 'id="resume-link"' in details
    # The store's country is chosen; a physical item needs at most 5 fields filled by the buyer:
    # contact, name, street, town, postcode.
    assert re.search(r'<option value="IE" selected>Ireland</option>', html)
    assert 'id="delivery-address-line2"' not in html
    assert 'id="delivery-region"' not in html
    required = re.findall(r'<input[^>]*\bname="(delivery\.[^"]+)"[^>]*\brequired[^>]*value=""', html)
    assert 1 + len(required) == 5, required  # the contact (email or phone) + the empty required ones
    assert "€57.90" in html  # 2 x 14.50 + 24.00 + 4.90 shipping
    assert "<svg" in html
    assert 'aria-label="QR code of the link to continue this checkout"' in html


async def test_validation_errors_sit_beside_their_fields_and_keep_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    path = await open_checkout(client, (SKU, 1))
    page = await client.get(path)
    form = checkout_form(
        page.text,
        **{
            "contact.email": "ada@",
            "delivery.city": "",
            "delivery.postal_code": "",
            "delivery.country": "XX",
        },
    )
    r = await client.post(path, data=form)
    assert r.status_code == 422
    html = r.text
    assert html.count('aria-invalid="true"') >= 3
    assert re.search(r'id="contact-email-error">.*Check the part after @', html)
    assert re.search(r'id="delivery-city-error">.*Enter your town or city', html)
    assert re.search(r'id="delivery-postal-code-error">.*Enter your postcode or ZIP<', html)
    assert re.search(r'id="delivery-country-error">.*Choose a country from the list', html)
    assert 'value="ada@"' in html
    assert f'value="{DELIVERY["name"]}"' in html
    assert 'role="alert"' in html
    assert "<title>Error: Checkout" in html
    # Valid fields were saved even though others were wrong: the resume link carries them.
    checkout_id = path.rsplit("/", 1)[1]
    saved = (await client.get(f"/api/v1/stores/demo/checkouts/{checkout_id}")).json()
    assert saved["delivery"]["name"] == DELIVERY["name"]
    assert saved["contact"] is None


async def test_save_for_later_then_resume_elsewhere(client: httpx.AsyncClient, app: FastAPI) -> None:
    path = await open_checkout(client, (SKU, 1))
    page = await client.get(path)
    form = checkout_form(
        page.text,
        action="save",
        **{"contact.email": "", "contact.phone": "030 901820", "contact.phone_region": "DE"},
    )
    r = await client.post(path, data=form)
    assert r.status_code == 303
    assert r.headers["location"] == f"{path}?saved=1"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
        resumed = await other.get(path)
    assert resumed.status_code == 200
    assert 'value="+4930901820"' in resumed.text
    assert f'value="{DELIVERY["postal_code"]}"' in resumed.text


async def test_place_order_and_track_it(client: httpx.AsyncClient) -> None:
    tracking = await place(client)
    assert re.fullmatch(r"/s/demo/orders/[A-Za-z0-9_-]{32,}", tracking)
    r = await client.get(tracking)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-robots-tag"] == "noindex, nofollow"
    token = tracking.rsplit("/", 1)[1]
    api = (await client.get(f"/api/v1/stores/demo/orders/{token}")).json()
    html = r.text
    for text in (
        api["number"],
        token,
        api["payment"]["destination"],
        api["payment"]["amount"],
        "0 of 2 required",
    ):
        assert text in html
    assert 'aria-label="QR code to pay' in html
    assert "Create account" in html
    assert "Awaiting payment" in html
    assert "Order placed" in html
    assert "does not mean you have paid" in html
    # What to do next comes first: the payment box, then the order's link (sent to the buyer's
    # contact, with its own QR), never the raw token as a separate thing to copy.
    assert html.index('id="pay-title"') < html.index('id="save-title"') < html.index('id="progress-title"')
    assert "We sent this link to a•••@e•••.com" in html
    assert 'aria-label="QR code of this order&#39;s tracking link"' in html
    assert "Copy token" not in html
    assert f">{token}<" not in html


async def test_bank_transfer_in_its_own_words(client: httpx.AsyncClient) -> None:
    tracking = await place(client, payment_method="manual")
    html = (await client.get(tracking)).text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Pay within 3 days" in text
    assert "by bank transfer" in text
    assert "DE89 3704 0044 0532 0130 00" in text  # the IBAN in groups of four
    box = html[html.index('id="order-payment"') : html.index('id="save-title"')]
    assert "confirmation" not in box.lower()
    assert "data-countdown" not in box


async def test_placing_twice_gives_the_same_order(client: httpx.AsyncClient) -> None:
    path = await open_checkout(client, (SKU, 1))
    page = await client.get(path)
    form = checkout_form(page.text)
    first = await client.post(path, data=form)
    second = await client.post(path, data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    # The checkout link, opened later, no longer leads to the order (the tracking link does).
    again = await client.get(path)
    assert again.status_code == 410
    assert "This order has been placed" in again.text
    assert first.headers["location"].rsplit("/", 1)[1] not in again.text


async def test_expired_payment_offers_a_new_instruction_never_the_old_address(
    client: httpx.AsyncClient,
) -> None:
    tracking = await place(client)
    token = tracking.rsplit("/", 1)[1]
    old = (await client.get(f"/api/v1/stores/demo/orders/{token}")).json()["payment"]["destination"]
    clock.advance(timedelta(hours=1))
    r = await client.get(tracking)
    assert "Get a new payment instruction" in r.text
    assert "Do not send a payment to the old details" in r.text
    assert old not in r.text
    assert "QR code to pay" not in r.text
    r = await client.post(f"{tracking}/refresh", data={"csrf": csrf_of(r.text)})
    assert r.status_code == 303
    assert r.headers["location"] == f"{tracking}?refreshed=1"
    page = await client.get(r.headers["location"])
    new = (await client.get(f"/api/v1/stores/demo/orders/{token}")).json()["payment"]["destination"]
    assert new != old
    assert new in page.text
    assert old not in page.text
    assert "Here is your new payment instruction" in page.text
    # Refreshing an order that is not expired just shows it again.
    r = await client.post(f"{tracking}/refresh", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert r.headers["location"] == tracking


async def test_storefront_says_why_guest_checkout_is_off(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="members", name="Members Only", account_required=True)
    r = await client.get(f"/s/members?sku={SKU}&qty=1")
    assert r.status_code == 200
    assert "asks buyers to order from an account" in r.text
    assert "Checkout as guest" not in r.text
    r = await client.post("/s/members/checkout", data={"csrf": csrf_of(r.text), "sku": SKU, "qty": "1"})
    assert r.status_code == 409


async def test_unknown_and_expired_links_get_plain_pages(client: httpx.AsyncClient) -> None:
    for url, status, text in (
        ("/s/nowhere", 404, "Store not found"),
        ("/s/demo/checkout/" + "x" * 32, 404, "Checkout not found"),
        ("/s/demo/orders/" + "y" * 32, 404, "Order not found"),
        ("/s/demo/orders/" + "y" * 300, 404, "Order not found"),
        ("/s/demo/policies/nope", 404, "Policy not found"),
    ):
        r = await client.get(url)
        assert r.status_code == status, url
        assert text in r.text, url
        assert r.headers["content-type"].startswith("text/html"), url
    path = await open_checkout(client, (SKU, 1))
    clock.advance(timedelta(days=2))
    r = await client.get(path)
    assert r.status_code == 410
    assert "This checkout has expired" in r.text


async def test_policy_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/s/demo/policies/returns")
    assert r.status_code == 200
    assert "Returns policy" in r.text
    assert "Version 2025-11" in r.text
    assert "within 30 days" in r.text


async def test_guest_pages_ignore_ambient_credentials(client: httpx.AsyncClient) -> None:
    ambient = {"Authorization": f"Bearer {ADMIN_KEY}", "Cookie": "og_session=abc; og_account=def"}
    plain = await client.get("/s/demo")
    with_creds = await client.get("/s/demo", headers=ambient)
    assert with_creds.status_code == 200
    strip = re.compile(r'value="[A-Za-z0-9_-]{40,}"')
    assert strip.sub("", plain.text) == strip.sub("", with_creds.text)
    assert set(with_creds.cookies.keys()) <= {"og_csrf"}


async def test_send_link_and_create_account_answer_honestly(client: httpx.AsyncClient, app: FastAPI) -> None:
    tracking = await place(client)
    page = await client.get(tracking)
    r = await client.post(f"{tracking}/send-link", data={"csrf": csrf_of(page.text), "contact": ""})
    assert r.status_code == 422
    assert "Enter your email address or phone number" in r.text
    r = await client.post(
        f"{tracking}/send-link", data={"csrf": csrf_of(page.text), "contact": "ada@example.com"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"{tracking}?link=sent"
    shown = await client.get(r.headers["location"])
    assert "Sent." in shown.text
    r = await client.post(f"{tracking}/account", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert r.headers["location"] == f"{tracking}?account=code-sent"


async def test_assistant_prepared_cart_asks_the_buyer_to_review(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from ordergate.checkout.schemas import CheckoutIn, ItemIn
    from ordergate.checkout.service import open_checkout
    from ordergate.settings import Settings
    from ordergate.stores.service import get_store

    async with sessionmaker() as session, session.begin():
        store = await get_store(session, "demo")
        opened = await open_checkout(
            session,
            store,
            CheckoutIn(items=[ItemIn(sku=SKU, quantity=2)]),
            settings=Settings(demo=True, base_url="http://test"),
            prepared_by="assistant",
        )
    page = await client.get(f"/s/demo/checkout/{opened.id}")
    assert "An assistant prepared this cart for you." in page.text
    assert not re.search(r'name="payment_method" value="[^"]+" checked', page.text)  # nothing chosen for them


async def test_fields_some_countries_need_are_offered(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="us-too", delivery_fields_by_country={"US": ["region"]})
    r = await client.get(f"/s/us-too?sku={SKU}&qty=1")
    r = await client.post("/s/us-too/checkout", data={"csrf": csrf_of(r.text), "sku": SKU, "qty": "1"})
    page = await client.get(r.headers["location"])
    assert 'name="delivery.region"' in page.text
    assert "(only for US)" in page.text
