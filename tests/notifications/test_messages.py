"""Templates, the verification code message, sealing with the server key, and the settings behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.delivery import outbox_pass, retry_delay, scrub
from ordergate.notifications.models import EMAIL, SMS
from ordergate.notifications.render import TEMPLATES, render_templates, safe_link
from ordergate.notifications.sealing import SealBroken, seal, unseal
from ordergate.notifications.service import KINDS, enqueue_verification_code
from ordergate.settings import Settings
from ordergate.stores.models import Store
from tests.notifications.conftest import mail_files, outbox, sms_files

HOSTILE = '<img src=x onerror="alert(1)">\r\nBcc: victim@example.com\x00'


def hostile_context() -> dict[str, Any]:
    payment = {
        "kind": "sandbox",
        "way": "onchain",
        "ready": True,
        "action": HOSTILE,
        "short": HOSTILE,
        "settles": HOSTILE,
        "label": HOSTILE,
        "asset": "SBX",
        "amount": "0.1 SBX",
        "destination": HOSTILE,
        "uri": 'javascript:alert("x")',
        "required_confirmations": 1,
        "expires_at": "22 Nov 2026, 10:00 UTC",
        "account_name": HOSTILE,
        "bic": None,
        "reference": "AB12-CD34",
    }
    order = {
        "number": "AB12-CD34",
        "status_label": "paid",
        "created_at": "now",
        "tracking_url": "https://t/x",
    }
    return {
        "store": {"name": HOSTILE},
        "number": "AB12-CD34",
        "status": "funded",
        "status_label": "paid",
        "items": [{"name": HOSTILE, "sku": "S", "quantity": 1, "unit_price": "€1.00", "line_total": "€1.00"}],
        "totals": {"subtotal": "€1.00", "shipping": "€0.00", "total": "€1.00"},
        "payment": payment,
        "shipments": [{"carrier": HOSTILE, "tracking_number": HOSTILE, "shipped_at": "now"}],
        "tracking_url": "https://shop.example/s/demo/orders/tok",
        "refresh_url": "https://shop.example/s/demo/orders/tok#refresh",
        "reason": HOSTILE,
        "was_paid": True,
        "orders": [order],
        "code": "123456",
        "valid_minutes": 15,
        "refund": {"amount": HOSTILE, "claim_url": "https://btcpay.example/pull-payments/x", "lines": []},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_message_renders_and_escapes(kind: str) -> None:
    subject, text, html = render_templates(kind, EMAIL, hostile_context())
    assert html is not None
    assert "<img" not in html
    assert "&lt;img" in html
    assert "\r" not in subject
    assert "\n" not in subject
    assert "\x00" not in subject
    assert "\x00" not in text
    assert "\r" not in text
    assert subject
    assert text.strip()
    sms, sms_text, sms_html = render_templates(kind, SMS, hostile_context())
    assert sms == ""
    assert sms_html is None
    assert "\n" not in sms_text
    assert "\x00" not in sms_text
    assert len(sms_text) <= 1600  # the provider's limit for one message


def test_templates_are_files_for_every_kind() -> None:
    for kind in KINDS:
        for path in (f"email/{kind}.txt", f"email/{kind}.html", f"sms/{kind}.txt"):
            assert (TEMPLATES / path).is_file(), path


def test_only_wallet_and_web_links_are_linked() -> None:
    assert safe_link("sandbox:sbx1qabc?amount=0.1") == "sandbox:sbx1qabc?amount=0.1"
    assert safe_link("bitcoin:bc1qxyz?amount=0.001") == "bitcoin:bc1qxyz?amount=0.001"
    for uri in (
        'javascript:alert("x")',
        " JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "no scheme",
    ):
        assert safe_link(uri) is None


async def test_verification_code_by_email_and_sms(
    app: object, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session, session.begin():
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert store is not None
        await enqueue_verification_code(
            session, store, "ada@example.com", "482913", settings=settings, valid_minutes=10
        )
        await enqueue_verification_code(session, store, "+4930901820", "771045", settings=settings)
    rows = await outbox(sessionmaker)
    assert [(m.kind, m.channel) for m in rows] == [
        ("verification_code", "email"),
        ("verification_code", "sms"),
    ]
    assert all(m.sealed and "482913" not in m.sealed and "771045" not in m.sealed for m in rows)

    assert (await outbox_pass(sessionmaker, settings)).sent == 2
    (mail,) = mail_files(settings)
    content = mail.read_text()
    assert "482913" in content
    assert "valid for 10 minutes" in content
    (text,) = sms_files(settings)
    assert "your verification code is 771045" in text.read_text()
    assert all(m.sealed is None and m.payload is None for m in await outbox(sessionmaker))


async def test_verification_code_dedupe_key(
    app: object, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session, session.begin():
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert store is not None
        for _ in range(2):
            await enqueue_verification_code(
                session, store, "ada@example.com", "111111", settings=settings, dedupe_key="verify:42:1"
            )
    assert len(await outbox(sessionmaker)) == 1


async def test_a_worker_with_another_key_cannot_open_secrets(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from tests.notifications.helpers import place_order

    order = await place_order(client, email="ada@example.com")
    other = settings.model_copy(
        update={"secret_key": SecretStr("another-key-" + "z" * 30), "outbox_max_attempts": 1}
    )
    assert (await outbox_pass(sessionmaker, other)).dead == 1
    (row,) = await outbox(sessionmaker)
    assert row.last_error == "SealBroken: sealed with another server key, or altered"
    assert order["token"] not in row.last_error
    assert mail_files(settings) == []


def test_seal_round_trip_and_binding(settings: Settings) -> None:
    sealed = seal(settings, "the-token", context="order-link:1")
    assert "the-token" not in sealed
    assert unseal(settings, sealed, context="order-link:1") == "the-token"
    assert seal(settings, "the-token", context="order-link:1") != sealed  # fresh nonce each time
    with pytest.raises(SealBroken):
        unseal(settings, sealed, context="order-link:2")  # cannot be moved to another order
    tampered = sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")
    with pytest.raises(SealBroken):
        unseal(settings, tampered, context="order-link:1")


def test_demo_key_file_is_made_once_and_private(tmp_path: Path, database_url: str) -> None:
    demo = Settings(database_url=database_url, demo=True, var_dir=tmp_path / "var")
    sealed = seal(demo, "x", context="c")
    key = tmp_path / "var" / "secret.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    again = Settings(database_url=database_url, demo=True, var_dir=tmp_path / "var")
    assert unseal(again, sealed, context="c") == "x"  # the worker, another process, opens it
    assert [p.name for p in key.parent.iterdir()] == ["secret.key"]


def test_secret_key_required_and_strong_outside_demo() -> None:
    with pytest.raises(ValidationError, match="ORDERGATE_SECRET_KEY is required outside demo mode"):
        Settings(demo=False)
    with pytest.raises(ValidationError, match="ORDERGATE_SECRET_KEY must be at least"):
        Settings(demo=False, secret_key="short")  # type: ignore[arg-type]
    ok = Settings(demo=False, secret_key="a-long-enough-secret-key-for-prod")  # type: ignore[arg-type]
    assert "a-long-enough" not in repr(ok)
    assert Settings(demo=True).secret_key is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempts, ceiling in ((1, 30), (2, 60), (3, 120), (10, 3600)):
        delays = {retry_delay(attempts, base=30) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert retry_delay(30, base=30) <= 3600


def test_scrub_removes_known_and_token_shaped_secrets() -> None:
    token = "Zx9_" + "a" * 28
    text = f"550 rejected https://shop/s/demo/orders/{token} code 123456 pw hunter2"
    cleaned = scrub(text, ["123456", "hunter2"])
    assert token not in cleaned
    assert "123456" not in cleaned
    assert "hunter2" not in cleaned
    assert cleaned.startswith("550 rejected")
