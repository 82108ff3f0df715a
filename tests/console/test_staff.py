"""Staff accounts in the console: the owner invites by email (a real SMTP server gets the code),
staff sign in with the emailed code, roles are enforced on pages and actions, a staff refund is
capped by its limit, deactivation ends sessions, and owners read the audit log."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.audit.service import Actor
from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from ordergate.stores.service import get_store
from tests.accounts.helpers import align_rate_windows
from tests.console.helpers import SESSION, form_token, post, sign_in, text_of
from tests.console.staff_helpers import ADA, invite, mailed_code, staff_sign_in
from tests.factories import Buyer
from tests.notifications.conftest import with_smtp
from tests.notifications.servers import SmtpTestServer


async def test_invite_sign_in_by_code_roles_limit_and_deactivation(
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
) -> None:
    buyer = Buyer(client)
    orders = [await buyer.order() for _ in range(2)]
    for order in orders:
        await buyer.pay(order["token"])
    assert (await sign_in(client)).status_code == 303
    r = await invite(client, ADA.upper(), "staff", "5.00")
    assert r.status_code == 303, r.text
    page = text_of((await client.get("/admin/staff")).text)
    assert ADA in page
    assert "Active" in page

    code, path = await mailed_code(sessionmaker, settings, smtp, ADA)
    r = await staff_sign_in(staff_client, path, code)
    assert r.status_code == 303, r.text
    assert staff_client.cookies.get(SESSION, path="/admin")
    page = text_of((await staff_client.get("/admin/orders")).text)
    assert f"as {ADA} (staff)" in page
    assert "API keys" not in page  # sections the role cannot open are not offered
    # A code works once.
    assert (
        await staff_sign_in(
            httpx.AsyncClient(transport=staff_client._transport, base_url="http://test"), path, code
        )
    ).status_code == 422

    # Staff: no keys, staff, audit log or products changes; orders yes.
    for forbidden in ("/admin/keys", "/admin/staff", "/admin/audit"):
        r = await staff_client.get(forbidden)
        assert r.status_code == 403, forbidden
        assert "Your role does not allow this" in r.text
    r = await post(staff_client, "/admin/products/PEN-FINE-BLK/stock", {"delta": "1", "reason": "x"})
    assert r.status_code == 403
    product = "/admin/products/PEN-FINE-BLK"
    assert f'action="{product}/stock"' not in (await staff_client.get(product)).text  # not offered
    assert f'action="{product}/stock"' in (await client.get(product)).text
    first = f"/admin/orders/{orders[0]['number']}"
    assert "Your limit: €5.00 per refund" in text_of((await staff_client.get(first)).text)
    r = await post(staff_client, f"{first}/shipments", {"carrier": "DHL", "tracking_number": "T-1"})
    assert r.status_code == 303, r.text

    # A refund above the limit is refused next to the amount, what was typed is kept.
    r = await post(staff_client, f"{first}/refunds", {"amount": "6.00", "reason": "scratched"})
    assert r.status_code == 403
    assert re.search(r'id="refund-amount-error"[^>]*>.*Your refund limit is 5\.00', r.text, re.S)
    assert 'value="6.00"' in r.text
    assert 'value="scratched"' in r.text or ">scratched<" in r.text
    r = await post(staff_client, f"{first}/refunds", {"amount": "2.00", "reason": "scratched"})
    assert r.status_code == 303, r.text

    # Viewer: reads, changes nothing.
    (member,) = re.findall(r'action="/admin/staff/(\d+)"', (await client.get("/admin/staff")).text)
    assert (
        await post(client, f"/admin/staff/{member}", {"role": "viewer", "refund_limit": ""})
    ).status_code == 303
    second = f"/admin/orders/{orders[1]['number']}"
    page = (await staff_client.get(second)).text
    assert f'action="{second}/shipments"' not in page  # no form the role would refuse
    assert f'action="{second}/shipments"' in (await client.get(second)).text
    bulk = (await staff_client.get("/admin/orders/bulk")).text
    assert 'action="/admin/orders/bulk/ship"' not in bulk
    assert "Your role can look at orders but not change them" in bulk
    r = await post(staff_client, f"{second}/shipments", {"carrier": "DHL", "tracking_number": "T-2"})
    assert r.status_code == 403
    assert "Viewers can look" in r.text

    # The owner's audit log: who did what, from where; filtered by actor.
    log = text_of((await client.get("/admin/audit")).text)
    assert "staff.invite" in log
    assert "order.ship" in log
    assert "refund.create" in log
    assert "198.51.100.20" in log
    sign_ins = text_of((await client.get("/admin/audit", params={"action": "console.sign_in"})).text)
    assert f"{ADA} staff console.sign_in" in sign_ins
    hers = text_of((await client.get("/admin/audit", params={"actor": ADA})).text)
    assert "staff.invite" not in hers
    assert "order.ship" in hers
    assert "staff.change" not in hers

    # Deactivated: the open session ends at once.
    assert (await post(client, f"/admin/staff/{member}/deactivate")).status_code == 303
    r = await staff_client.get("/admin/orders")
    assert r.status_code == 303
    assert "ended=1" in r.headers["location"]
    assert "Deactivated" in text_of((await client.get("/admin/staff")).text)


async def test_sign_in_form_never_says_who_is_staff_and_wrong_codes_are_refused(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
) -> None:
    await sign_in(client)
    assert (await invite(client, ADA, "viewer")).status_code == 303
    await outbox_pass(sessionmaker, with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}"))
    smtp.received.clear()
    await post(client, "/admin/sign-out")

    token = await form_token(client)
    known = await client.post("/admin/sign-in/email", data={"store": "demo", "email": ADA, "csrf": token})
    unknown = await client.post(
        "/admin/sign-in/email", data={"store": "demo", "email": "eve@shop.example", "csrf": token}
    )
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"].startswith("/admin/sign-in/code/")
    assert unknown.headers["location"].startswith("/admin/sign-in/code/")
    code, path = await mailed_code(sessionmaker, settings, smtp, ADA)
    assert [m.recipients for m in smtp.received] == [[ADA]]  # eve got nothing
    assert known.headers["location"].split("?")[0] == path

    # Wrong code: the error sits by the field; the right one still works afterwards.
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = await staff_sign_in(client, path, wrong)
    assert r.status_code == 422
    assert re.search(r'id="code-error"[^>]*>.*That code is not right', r.text, re.S)
    # A staff code is nobody's account code.
    assert (await client.get(f"/account/demo/verify/{path.rsplit('/', 1)[1]}")).status_code == 404
    assert (await staff_sign_in(client, path, code)).status_code == 303
    assert "(viewer)" in text_of((await client.get("/admin/home")).text)

    # Blank fields are named; what was typed stays.
    await post(client, "/admin/sign-out")
    token = await form_token(client)
    r = await client.post("/admin/sign-in/email", data={"store": "", "email": "x@y.example", "csrf": token})
    assert r.status_code == 422
    assert re.search(r'id="store-error"[^>]*>.*short name', r.text, re.S)
    assert 'value="x@y.example"' in r.text
    r = await client.post("/admin/sign-in/email", data={"store": "nowhere", "email": ADA, "csrf": token})
    assert r.status_code == 404
    assert re.search(r'id="store-error"[^>]*>', r.text)
    r = await client.post("/admin/sign-in/email", data={"store": "demo", "email": ADA, "csrf": "stale"})
    assert r.status_code == 403


async def test_invite_form_errors_keep_what_was_typed(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    r = await invite(client, "not-an-address", "staff", "12.50")
    assert r.status_code == 422
    assert re.search(r'id="invite-email-error"[^>]*>.*Enter an email address', r.text, re.S)
    assert 'value="not-an-address"' in r.text
    assert 'value="12.50"' in r.text
    r = await invite(client, ADA, "staff", "1.234")
    assert r.status_code == 422
    assert re.search(r'id="invite-refund-limit-error"[^>]*>.*smaller unit', r.text, re.S)
    r = await invite(client, ADA, "boss")
    assert r.status_code == 422
    assert re.search(r'id="invite-role-error"[^>]*>.*owner, staff or viewer', r.text, re.S)
    assert (await invite(client, ADA, "staff", "3")).status_code == 303
    r = await invite(client, ADA, "owner")
    assert r.status_code == 409
    assert re.search(r'id="invite-email-error"[^>]*>.*already on the staff', r.text, re.S)
    r = await client.post("/admin/staff", data={"email": ADA, "role": "staff", "csrf": "stale"})
    assert r.status_code == 403


async def test_audit_log_pages_back_by_keyset(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        store = await get_store(session, "demo")
        bot = Actor.for_key("robot00001", "192.0.2.9")
        for n in range(75):
            await bot.record(session, store_id=store.id, action="stock.change", target=f"SKU-{n:03d}")
    await sign_in(client)
    first = (await client.get("/admin/audit", params={"action": "stock"})).text
    assert "SKU-074" in first
    assert "SKU-024" not in first
    older = re.search(r'href="(/admin/audit\?[^"]+)" rel="next"', first)
    assert older
    second = (await client.get(older.group(1).replace("&amp;", "&"))).text
    assert "SKU-024" in second
    assert "SKU-000" in second
    assert "SKU-074" not in second
    assert 'rel="next"' not in second
    assert (await client.get("/admin/audit", params={"before": "x"})).status_code == 422


async def test_asking_for_codes_is_rate_limited_by_address(client: httpx.AsyncClient) -> None:
    align_rate_windows()
    token = await form_token(client)
    data = {"store": "demo", "email": "mallory@shop.example", "csrf": token}
    for _ in range(2):
        assert (await client.post("/admin/sign-in/email", data=data)).status_code == 303
    r = await client.post("/admin/sign-in/email", data=data)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert re.search(r'id="email-error"[^>]*>.*Too many attempts', r.text, re.S)
    assert 'value="mallory@shop.example"' in r.text
