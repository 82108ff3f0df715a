"""SMS through the Twilio-compatible adapter, against a local server speaking that API."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client as TwilioClient

from ordergate.notifications.delivery import outbox_pass
from ordergate.notifications.sms import parse_sms_url
from ordergate.settings import Settings
from tests.notifications.conftest import outbox, with_sms
from tests.notifications.helpers import place_order
from tests.notifications.servers import INVALID_NUMBER, NO_SMS_NUMBER, OVERLOADED_NUMBER, SmsTestServer


async def test_confirmation_by_sms(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sms_api: SmsTestServer,
) -> None:
    order = await place_order(client, phone="+4930901820")
    settings = with_sms(settings, sms_api.url())
    assert (await outbox_pass(sessionmaker, settings)).sent == 1
    (sent,) = sms_api.api.messages
    assert sent["To"] == "+4930901820"
    assert sent["From"] == "+15550001111"
    assert order["number"] in sent["Body"]
    assert order["tracking_url"] in sent["Body"]
    (row,) = await outbox(sessionmaker)
    assert row.state == "sent"
    assert row.provider_ref == "SM" + "0" * 32


async def test_messaging_service_sender(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sms_api: SmsTestServer,
) -> None:
    await place_order(client, phone="+4930901820")
    url = sms_api.url().split("?")[0] + "?messaging_service_sid=MG123"
    assert (await outbox_pass(sessionmaker, with_sms(settings, url))).sent == 1
    (sent,) = sms_api.api.messages
    assert sent["MessagingServiceSid"] == "MG123"
    assert "From" not in sent


async def test_invalid_number_is_dead_overload_is_retried(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sms_api: SmsTestServer,
) -> None:
    from sqlalchemy import update

    from ordergate.orders.models import Order

    bad = await place_order(client, phone="+4930901820")
    busy = await place_order(client, phone="+4930901821")
    # Contacts are validated at checkout; point these orders at the provider's test numbers.
    async with sessionmaker() as session, session.begin():
        for order, number in ((bad, INVALID_NUMBER), (busy, OVERLOADED_NUMBER)):
            await session.execute(update(Order).where(Order.number == order["number"]).values(phone=number))
    from ordergate.notifications.models import OutboxMessage

    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "+4930901820")
            .values(recipient=INVALID_NUMBER)
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "+4930901821")
            .values(recipient=OVERLOADED_NUMBER)
        )
    result = await outbox_pass(sessionmaker, with_sms(settings, sms_api.url()))
    assert (result.sent, result.dead, result.retried) == (0, 1, 1)
    dead = (await outbox(sessionmaker, state="dead"))[0]
    assert dead.recipient == INVALID_NUMBER
    assert "HTTP 400: 21211" in (dead.last_error or "")
    retried = (await outbox(sessionmaker, state="pending"))[0]
    assert "HTTP 503" in (retried.last_error or "")
    for row in (dead, retried):
        assert sms_api.api.auth_token not in (row.last_error or "")
        assert bad["token"] not in (row.last_error or "")
        assert busy["token"] not in (row.last_error or "")


async def test_wrong_credentials_are_retried_not_leaked(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sms_api: SmsTestServer,
) -> None:
    await place_order(client, phone="+4930901820")
    url = sms_api.url().replace(sms_api.api.auth_token, "tok_wrong_wrong_wrong_wrong_wrong")
    assert (await outbox_pass(sessionmaker, with_sms(settings, url))).retried == 1
    (row,) = await outbox(sessionmaker)
    assert row.last_error == "ProviderError: HTTP 401: 20003 Authenticate"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://AC1:secrettok@h?from=%2B1", "must start with https://"),
        ("http://AC1:secrettok@sms.example.com?from=%2B1", "http:// only for a local test server"),
        ("https://sms.example.com?from=%2B1", "needs the account SID and auth token"),
        ("https://AC1:secrettok@sms.example.com", "needs from="),
        ("https://AC1:secrettok@sms.example.com?from=%2B1&region=eu", "unknown options: region"),
    ],
)
def test_bad_sms_urls_say_why_without_the_token(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        parse_sms_url(url)
    assert "secrettok" not in str(raised.value)


def test_sms_url_forms() -> None:
    p = parse_sms_url("https://AC123:tok%2Fen@api.twilio.com?from=%2B15551234567")
    assert p.endpoint == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    assert (p.account_sid, p.auth_token, p.sender_field, p.sender) == (
        "AC123",
        "tok/en",
        "From",
        "+15551234567",
    )
    assert "tok/en" not in repr(p)
    q = parse_sms_url("https://AC9:t@sms.example.com:8443/twilio/?messaging_service_sid=MG1")
    assert q.endpoint == "https://sms.example.com:8443/twilio/2010-04-01/Accounts/AC9/Messages.json"


class _SdkRequests(HttpClient):  # type: ignore[misc]
    """The official twilio SDK's HTTP layer, recording what the SDK would send (no network)."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False)
        self.sent: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        self.sent.append({"method": method, "uri": uri, "data": data, "auth": auth})
        return TwilioResponse(201, json.dumps({"sid": "SM" + "1" * 32, "status": "queued"}))


async def test_our_request_is_the_one_the_official_twilio_sdk_makes(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    sms_api: SmsTestServer,
) -> None:
    await place_order(client, phone="+4930901820")
    assert (await outbox_pass(sessionmaker, with_sms(settings, sms_api.url()))).sent == 1
    [ours] = sms_api.api.requests

    sdk = _SdkRequests()
    TwilioClient(sms_api.api.account_sid, sms_api.api.auth_token, http_client=sdk).messages.create(
        to=ours["form"]["To"], from_=ours["form"]["From"], body=ours["form"]["Body"]
    )
    [theirs] = sdk.sent
    assert ours["method"] == theirs["method"] == "POST"
    assert ours["path"] == urlsplit(theirs["uri"]).path
    assert ours["form"] == {k: str(v) for k, v in theirs["data"].items()}
    user, token = theirs["auth"]
    assert ours["authorization"] == "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    assert ours["content_type"].startswith("application/x-www-form-urlencoded")


def test_the_official_twilio_sdk_talks_to_our_stand_in(sms_api: SmsTestServer) -> None:
    """The stand-in is checked against the SDK: the SDK's own request is accepted and its answer read
    as a MessageInstance; Twilio's magic numbers fail with the codes Twilio publishes for them."""
    sdk = TwilioClient(sms_api.api.account_sid, sms_api.api.auth_token)
    sdk.api.base_url = f"http://127.0.0.1:{sms_api.port}"
    sent = sdk.messages.create(to="+4930901820", from_="+15005550006", body="Order K7QF-M2XD: paid")
    assert str(sent.sid).startswith("SM")
    assert (sent.status, sent.direction, sent.to, sent.body) == (
        "queued",
        "outbound-api",
        "+4930901820",
        "Order K7QF-M2XD: paid",
    )
    assert sent.date_created is not None  # the SDK parsed Twilio's RFC 2822 date
    for number, code in ((INVALID_NUMBER, 21211), (NO_SMS_NUMBER, 21614)):
        with pytest.raises(TwilioRestException) as refused:
            sdk.messages.create(to=number, from_="+15005550006", body="x")
        assert (refused.value.status, refused.value.code) == (400, code)
    wrong = TwilioClient(sms_api.api.account_sid, "not-the-token")
    wrong.api.base_url = sdk.api.base_url
    with pytest.raises(TwilioRestException) as unauthorised:
        wrong.messages.create(to="+4930901820", from_="+15005550006", body="x")
    assert (unauthorised.value.status, unauthorised.value.code) == (401, 20003)
