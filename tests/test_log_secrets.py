"""No raw token, checkout id, code or key reaches the log: a buyer's journey through the pages and
the API against `ordergate serve` at INFO, its whole log (and the worker's) searched afterwards."""

from __future__ import annotations

import email
import re
import subprocess
from pathlib import Path

import httpx

from tests.factories import ADMIN_KEY, DELIVERY, SKU
from tests.served import ORDERGATE, prepare_database, serve
from tests.test_pages import checkout_form, csrf_of


def _codes_mailed(var: Path) -> list[str]:
    codes = []
    for eml in sorted((var / "mail").glob("**/*.eml")):
        message = email.message_from_bytes(eml.read_bytes())
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                codes += re.findall(r"verification code is:\s+(\d{4,8})", text)
    return codes


def _deliver(env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [ORDERGATE, "worker", "--once"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_the_buyer_journey_leaves_no_secret_in_the_log(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'journey.db'}"
    prepare_database(url)
    secrets: list[str] = [ADMIN_KEY]
    with serve(url, tmp_path, ORDERGATE_LOG_LEVEL="info") as served:
        worker_log = ""
        with httpx.Client(base_url=served.base, timeout=30) as pages:
            # Pages: storefront, checkout, place the order, then the tracking page's own forms.
            store = pages.get("/s/demo")
            r = pages.post("/s/demo/checkout", data={"csrf": csrf_of(store.text), "sku": [SKU], "qty": ["1"]})
            checkout_path = r.headers["location"]
            secrets.append(checkout_path.rsplit("/", 1)[1])
            form = pages.get(checkout_path)
            placed = pages.post(
                checkout_path, data=checkout_form(form.text, **{"contact.email": "ada@example.com"})
            )
            assert placed.status_code == 303, placed.text[:500]
            tracking = placed.headers["location"]
            secrets.append(tracking.rsplit("/", 1)[1])
            page = pages.get(tracking)
            assert page.status_code == 200
            assert pages.post(f"{tracking}/account", data={"csrf": csrf_of(page.text)}).status_code == 303
            worker_log += _deliver(served.env, tmp_path)
            codes = _codes_mailed(tmp_path / "var")
            assert codes, "no verification code was mailed"
            secrets += codes
            wrong = "0" * len(codes[-1]) if codes[-1] != "0" * len(codes[-1]) else "1" * len(codes[-1])
            pages.post(f"{tracking}/account/verify", data={"csrf": csrf_of(page.text), "code": wrong})
            verified = pages.post(
                f"{tracking}/account/verify", data={"csrf": csrf_of(page.text), "code": codes[-1]}
            )
            assert verified.status_code == 303, verified.text[:500]
            sent = pages.post(
                f"{tracking}/send-link", data={"csrf": csrf_of(page.text), "contact": "ada@example.com"}
            )
            assert sent.status_code == 303
            assert pages.get(checkout_path).status_code < 500
        with httpx.Client(base_url=f"{served.base}/api/v1", timeout=30) as api:
            chk = api.post("/stores/demo/checkouts", json={"items": [{"sku": SKU, "quantity": 1}]}).json()
            secrets.append(chk["id"])
            api.patch(
                f"/stores/demo/checkouts/{chk['id']}",
                json={"contact": {"email": "bob@example.com"}, "delivery": DELIVERY},
            )
            policies = [f"{p['id']}@{p['version']}" for p in api.get("/stores/demo").json()["policies"]]
            order = api.post(
                f"/stores/demo/checkouts/{chk['id']}/orders",
                json={"payment_method": "sandbox", "accepted_policies": policies},
                headers={"Idempotency-Key": "journey-1"},
            ).json()
            secrets.append(order["token"])
            assert api.get(f"/stores/demo/orders/{order['token']}").status_code == 200
            api.post(f"/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 2})
            api.post(f"/stores/demo/orders/{order['token']}/account", json={})
            api.post(f"/stores/demo/orders/{order['token']}/account/verify", json={"code": "000000"})
            api.post("/stores/demo/order-links", json={"email": "bob@example.com"})
            api.get("/stores/demo/admin/orders", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            worker_log += _deliver(served.env, tmp_path)
            secrets += _codes_mailed(tmp_path / "var")
        worker_log += _staff_sign_in(served.base, served.env, tmp_path, secrets)
        log = served.log.read_text() + worker_log
    assert '"event": "request"' in log  # the access log was on
    leaked = [s for s in set(secrets) if s in log]
    assert leaked == [], f"found in the log: {leaked}"


def _staff_sign_in(base: str, env: dict[str, str], var_parent: Path, secrets: list[str]) -> str:
    """The owner signs in to the console with the key and invites a staff member, who signs in with
    the emailed code; the session cookies and codes join the secrets."""
    with httpx.Client(base_url=base, timeout=30) as owner, httpx.Client(base_url=base, timeout=30) as staff:
        form = owner.get("/admin/sign-in")
        assert (
            owner.post("/admin/sign-in", data={"key": ADMIN_KEY, "csrf": csrf_of(form.text)}).status_code
            == 303
        )
        invite = {
            "email": "grace@shop.example",
            "role": "staff",
            "refund_limit": "5",
            "csrf": csrf_of(form.text),
        }
        assert owner.post("/admin/staff", data=invite).status_code == 303
        before = set(_codes_mailed(var_parent / "var"))
        form = staff.get("/admin/sign-in")
        asked = staff.post(
            "/admin/sign-in/email",
            data={"store": "demo", "email": "grace@shop.example", "csrf": csrf_of(form.text)},
        )
        assert asked.status_code == 303
        worker_log = _deliver(env, var_parent)
        codes = [c for c in _codes_mailed(var_parent / "var") if c not in before]
        assert codes, "no staff code was mailed"
        secrets += codes
        code_page = asked.headers["location"].split("?")[0]
        secrets.append(
            code_page.rsplit("/", 1)[1]
        )  # the code request's id: not a secret, but not logged either
        signed = staff.post(code_page, data={"code": codes[-1], "csrf": csrf_of(form.text)})
        assert signed.status_code == 303, signed.text[:500]
        secrets += [str(c.cookies.get("og_admin", path="/admin") or "") for c in (owner, staff)]
        assert staff.get("/admin/orders").status_code == 200
    return worker_log
