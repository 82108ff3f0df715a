"""A browser-like client for the console: its cookies, its CSRF token, signing in."""

from __future__ import annotations

import re

import httpx

from tests.factories import ADMIN_KEY

CSRF = "og_admin_csrf"
SESSION = "og_admin"


def csrf_of(client: httpx.AsyncClient) -> str:
    return str(client.cookies.get(CSRF, path="/admin") or "")


async def form_token(client: httpx.AsyncClient, path: str = "/admin/sign-in") -> str:
    """The CSRF token a console page puts in its forms (the same as its cookie)."""
    page = await client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    assert match.group(1) == csrf_of(client)
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    token = await form_token(client)
    return await client.post("/admin/sign-in", data={"key": key, "csrf": token})


async def post(client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A console form, submitted with the page's CSRF token."""
    if not csrf_of(client):
        await client.get("/admin/sign-in")
    return await client.post(path, data={**(data or {}), "csrf": csrf_of(client)})


def text_of(html: str) -> str:
    """The page's words, tags and extra spaces removed (for plain assertions)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
