"""The SMS channel: a Twilio-compatible REST API (ORDERGATE_SMS_URL), or files under var_dir/sms.

ORDERGATE_SMS_URL: `https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15551234567` (or
`messaging_service_sid=MG...` instead of `from`); a path after the host is kept as a prefix, for
providers that put the API below one. Messages are sent as
`POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with `To`, `From` and `Body`
form-encoded and HTTP Basic auth. Plain http:// is accepted only for a loopback host."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

from ordergate.notifications.errors import Undeliverable
from ordergate.notifications.spool import write_private

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# 400: the provider says this message can never go (a bad number, an opted-out recipient).
PERMANENT = (400,)


@dataclass(frozen=True)
class SmsProvider:
    endpoint: str
    account_sid: str
    auth_token: str
    sender_field: str  # "From" or "MessagingServiceSid"
    sender: str
    timeout: float

    def __repr__(self) -> str:  # never show the auth token, even in a traceback
        return f"SmsProvider({self.endpoint}, {self.sender_field}={self.sender})"


def parse_sms_url(url: str) -> SmsProvider:
    """Raise ValueError with a message that names what is wrong and never repeats the URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValueError("ORDERGATE_SMS_URL must start with https://")
    if not parts.hostname:
        raise ValueError("ORDERGATE_SMS_URL names no host")
    if scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError("ORDERGATE_SMS_URL must use https:// (http:// only for a local test server)")
    if not parts.username or not parts.password:
        raise ValueError("ORDERGATE_SMS_URL needs the account SID and auth token: https://SID:TOKEN@host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("ORDERGATE_SMS_URL has a port that is not a number") from None
    query = dict(parse_qsl(parts.query))
    unknown = sorted(set(query) - {"from", "messaging_service_sid", "timeout"})
    if unknown:
        raise ValueError(f"ORDERGATE_SMS_URL has unknown options: {', '.join(unknown)}")
    if "messaging_service_sid" in query:
        field, sender = "MessagingServiceSid", query["messaging_service_sid"]
    elif "from" in query:
        field, sender = "From", query["from"]
    else:
        raise ValueError("ORDERGATE_SMS_URL needs from=+E164NUMBER or messaging_service_sid=MG...")
    try:
        timeout = float(query.get("timeout", "20"))
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 300:
        raise ValueError("ORDERGATE_SMS_URL option timeout must be a number of seconds, at most 300")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    base = f"{scheme}://{host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"
    sid = unquote(parts.username)
    return SmsProvider(
        endpoint=f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
        account_sid=sid,
        auth_token=unquote(parts.password),
        sender_field=field,
        sender=sender,
        timeout=timeout,
    )


class SmsSender(Protocol):
    async def send(self, *, to: str, body: str, sender_name: str, name: str) -> str:
        """Deliver; return the provider's reference. Undeliverable for a permanent refusal."""
        ...


class ProviderError(Exception):
    """The provider answered with an error that may pass (overload, outage): try again later."""


def _problem(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(data, dict):
        return f"{data.get('code', '')} {data.get('message', '')}".strip()[:300]
    return response.reason_phrase


class TwilioSender:
    def __init__(self, provider: SmsProvider, client: httpx.AsyncClient):
        self.provider, self.client = provider, client

    async def send(self, *, to: str, body: str, sender_name: str, name: str) -> str:
        p = self.provider
        response = await self.client.post(
            p.endpoint,
            data={"To": to, p.sender_field: p.sender, "Body": body},
            auth=(p.account_sid, p.auth_token),
            timeout=p.timeout,
        )
        if response.status_code in (200, 201):
            try:
                return str(response.json().get("sid", ""))[:200]
            except ValueError:
                return ""
        detail = f"HTTP {response.status_code}: {_problem(response)}"
        if response.status_code in PERMANENT:
            raise Undeliverable(detail)
        raise ProviderError(detail)


class SmsDirSender:
    """Without a provider: each message is a text file."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def send(self, *, to: str, body: str, sender_name: str, name: str) -> str:
        content = f"To: {to}\nFrom: {sender_name}\n\n{body}\n".encode()
        path = await asyncio.to_thread(write_private, self.directory, f"{name}.txt", content)
        return f"file:{path.name}"
