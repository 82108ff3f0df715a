"""Email over SMTP against a real server (aiosmtpd): plain, STARTTLS with auth, implicit TLS, refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from ordergate import clock
from ordergate.notifications.delivery import outbox_pass
from ordergate.notifications.email import parse_smtp_url
from ordergate.settings import Settings
from tests.notifications.conftest import outbox, with_smtp
from tests.notifications.helpers import place_order
from tests.notifications.servers import SmtpTestServer, authenticator, self_signed_cert, server_tls


async def test_confirmation_over_smtp_with_html_and_text(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
) -> None:
    order = await place_order(client, email="ada@example.com")
    settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
    assert (await outbox_pass(sessionmaker, settings)).sent == 1

    (mail,) = smtp.received
    assert mail.sender == "no-reply@localhost"
    assert mail.recipients == ["ada@example.com"]
    assert mail.message.get_content_type() == "multipart/alternative"
    assert order["tracking_url"] in mail.part("plain")
    assert order["tracking_url"] in mail.part("html")
    assert mail.message["Message-ID"].startswith("<og.1.")
    assert mail.message["Auto-Submitted"] == "auto-generated"
    (row,) = await outbox(sessionmaker)
    assert row.state == "sent"
    assert "OK queued" in (row.provider_ref or "")


async def test_starttls_and_login(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    cert, key = self_signed_cert(tmp_path)
    with SmtpTestServer(
        tls_context=server_tls(cert, key),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator("shop@example.com", "p@ss:word/1"),
    ) as server:
        await place_order(client, email="ada@example.com")
        url = f"smtp://shop%40example.com:p%40ss%3Aword%2F1@127.0.0.1:{server.port}?starttls=1&cafile={cert}"
        settings = with_smtp(settings.model_copy(update={"mail_from": "orders@shop.example"}), url)
        assert (await outbox_pass(sessionmaker, settings)).sent == 1
        (mail,) = server.received
        assert mail.sender == "orders@shop.example"

        # A wrong password: retried later, and the error text names no credential.
        await place_order(client, email="bob@example.com")
        bad = with_smtp(settings, url.replace("p%40ss", "wrong"))
        with capture_logs() as logs:
            result = await outbox_pass(sessionmaker, bad)
        assert result.retried == 1
        (failed,) = await outbox(sessionmaker, state="pending")
        assert failed.last_error
        assert "SMTPAuthenticationError" in failed.last_error
        assert "wrong" not in repr(logs) + failed.last_error


async def test_implicit_tls(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    cert, key = self_signed_cert(tmp_path)
    with SmtpTestServer(ssl_context=server_tls(cert, key)) as server:
        await place_order(client, email="ada@example.com")
        settings = with_smtp(settings, f"smtps://127.0.0.1:{server.port}?cafile={cert}")
        assert (await outbox_pass(sessionmaker, settings)).sent == 1
        assert len(server.received) == 1
        # Without the CA the certificate is refused: nothing is sent in the clear instead.
        await place_order(client, email="bob@example.com")
        unverified = with_smtp(settings, f"smtps://127.0.0.1:{server.port}")
        assert (await outbox_pass(sessionmaker, unverified)).retried == 1
        assert len(server.received) == 1


async def test_refused_recipient_is_dead_at_once_and_can_be_retried(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
    admin: dict[str, str],
) -> None:
    smtp.handler.refuse.add("gone@example.com")
    await place_order(client, email="gone@example.com")
    settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
    assert (await outbox_pass(sessionmaker, settings)).dead == 1
    (row,) = await outbox(sessionmaker)
    assert (row.state, row.attempts) == ("dead", 1)
    assert row.last_error
    assert "550" in row.last_error

    # Visible to the operator, and retried once the address works again.
    listed = await client.get("/api/v1/stores/demo/admin/outbox", params={"state": "dead"}, headers=admin)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["kind"] == "order_confirmation"
    assert item["recipient"] == "gone@example.com"
    assert "550" in item["last_error"]
    assert item["order_number"]
    smtp.handler.refuse.clear()
    r = await client.post(f"/api/v1/stores/demo/admin/outbox/{item['id']}/retry", headers=admin)
    assert r.status_code == 200
    assert r.json()["state"] == "pending"
    assert (await outbox_pass(sessionmaker, settings)).sent == 1
    assert len(smtp.received) == 1
    again = await client.post(f"/api/v1/stores/demo/admin/outbox/{item['id']}/retry", headers=admin)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "state"


async def test_unreachable_server_backs_off_then_gives_up(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com")
    settings = with_smtp(settings, "smtp://127.0.0.1:9?timeout=2")
    settings = settings.model_copy(update={"outbox_max_attempts": 4, "outbox_retry_seconds": 10.0})
    delays = []
    for attempt in range(1, 5):
        with capture_logs() as logs:
            result = await outbox_pass(sessionmaker, settings)
        (row,) = await outbox(sessionmaker)
        assert row.attempts == attempt
        assert order["token"] not in repr(logs)
        assert order["token"] not in (row.last_error or "")
        if attempt < 4:
            assert result.retried == 1
            assert row.state == "pending"
            delay = (row.next_attempt_at - clock.now()).total_seconds()
            # base 10 s doubled each try, each between half and all of it
            assert 10 * 2 ** (attempt - 1) / 2 - 1 <= delay <= 10 * 2 ** (attempt - 1) + 1
            delays.append(delay)
            # Not due yet: the next pass leaves it alone.
            assert (await outbox_pass(sessionmaker, settings)).retried == 0
            clock.advance(timedelta(seconds=delay + 1))
        else:
            assert result.dead == 1
            assert row.state == "dead"
            assert row.last_error
            assert "SMTPConnect" in row.last_error
    assert delays[0] < delays[2]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://h", "must start with smtp:// or smtps://"),
        ("smtp://user:secretpw@:25", "names no host"),
        ("smtp://user:secretpw@host:port", "port that is not a number"),
        ("smtp://user:secretpw@host?starttls=maybe", "starttls must be 1 or 0"),
        ("smtp://user:secretpw@host?tls=1", "unknown options: tls"),
        ("smtps://user:secretpw@host?starttls=1", "drop starttls=1"),
        ("smtp://user:secretpw@host?timeout=0", "at most 300"),
    ],
)
def test_bad_smtp_urls_say_why_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        parse_smtp_url(url)
    assert "secretpw" not in str(raised.value)


def test_smtp_url_forms() -> None:
    s = parse_smtp_url("smtp://u%40x.org:p%3Aw@mail.example.org:587?starttls=1")
    assert (s.hostname, s.port, s.username, s.password, s.start_tls, s.use_tls) == (
        "mail.example.org", 587, "u@x.org", "p:w", True, False,
    )  # fmt: skip
    assert "p:w" not in repr(s)
    t = parse_smtp_url("smtps://mail.example.org")
    assert (t.port, t.use_tls, t.start_tls, t.username) == (465, True, False, None)
    plain = parse_smtp_url("smtp://localhost")
    assert (plain.port, plain.start_tls) == (25, None)
