"""Calls from a page form to a guest JSON route of this same app, in process.

Used for the buyer actions whose services live in other packages (sending tracking links,
turning a guest into an account): the page posts what the buyer typed to the public route, so
the rules stay in one place, and says plainly when this server has no such route yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Match


@dataclass(frozen=True)
class ApiAnswer:
    available: bool
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)

    def field_errors(self) -> list[tuple[str, str]]:
        errors = self.body.get("errors") or []
        return [(str(e.get("field", "")), str(e.get("message", ""))) for e in errors if isinstance(e, dict)]

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or self.body.get("title") or "")


def has_route(app: FastAPI, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True
    return False


async def call_guest_api(
    app: FastAPI, method: str, path: str, body: dict[str, Any], *, client_host: str | None = None
) -> ApiAnswer:
    """`method path` with a JSON body and no credentials at all, through the full middleware stack.

    `client_host` is the buyer's address, so per-address rate limits count the buyer, not this server."""
    if not has_route(app, method, path):
        return ApiAnswer(available=False)
    transport = httpx.ASGITransport(app=app, client=(client_host or "127.0.0.1", 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://ordergate.internal") as client:
        response = await client.request(method, path, json=body)
    try:
        parsed = response.json()
    except ValueError:
        parsed = {}
    return ApiAnswer(
        available=True, status=response.status_code, body=parsed if isinstance(parsed, dict) else {}
    )
