"""Staff sign-in helpers: a second browser, the code mailed over real SMTP, the invite form."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.console.helpers import form_token, post
from tests.notifications.conftest import with_smtp
from tests.notifications.servers import SmtpTestServer

ADA = "ada@shop.example"


async def mailed_code(
    maker: async_sessionmaker[AsyncSession], settings: Settings, smtp: SmtpTestServer, to: str
) -> tuple[str, str]:
    """Deliver the outbox over SMTP; the code and the console link in the last mail to `to`."""
    await outbox_pass(maker, with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}"))
    mails = [m for m in smtp.received if m.recipients == [to]]
    assert mails, f"no mail to {to}"
    text = mails[-1].part("plain")
    code = re.search(r"^\s+(\d{6})\s*$", text, re.M)
    link = re.search(r"http://test(/admin/sign-in/code/[\w-]+)#code=(\d{6})", text)
    assert code, text
    assert link, text
    assert link.group(2) == code.group(1)
    return code.group(1), link.group(1)


async def staff_sign_in(client: httpx.AsyncClient, path: str, code: str) -> httpx.Response:
    token = await form_token(client, path)
    return await client.post(path, data={"code": code, "csrf": token})


async def invite(client: httpx.AsyncClient, email: str, role: str, limit: str = "") -> httpx.Response:
    return await post(client, "/admin/staff", {"email": email, "role": role, "refund_limit": limit})
