"""The tracking read's fast lane: a pure-ASGI answer from the stored document, before FastAPI routing.

`GET /api/v1/stores/{store}/orders/{token}` is what every open tracking page polls. When the store's
configuration is cached, the database is PostgreSQL and the order's stored document holds, the
answer is one autocommit SELECT (one statement, one implicit transaction) and a splice: no routing,
no dependencies, no ORM session. Anything else (an unknown store or token, a stale document, an
error, SQLite) falls through to the declared route, which answers the same way at full cost, so
problems, rate limits and expiry stay in one place. Sits inside the request guard: the same
credential stripping, headers, log line and metrics, under the route's own template.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ordergate import clock, security
from ordergate.orders import document
from ordergate.orders.service import document_answer
from ordergate.readlane import ReadLaneError

PREFIX = "/api/v1/stores/"
# Driver-level SQL: no compilation per read (the same statement as orders.document's read).
SELECT = "SELECT version, tracking, tracking_until FROM orders WHERE token_hash = $1 AND store_id = $2"
MAX_SLUG, MAX_TOKEN = 64, 128


class _Template:
    """What logs and metrics read from scope["route"]: the route's template, never the raw path."""

    path = "/api/v1/stores/{store}/orders/{token}"


TEMPLATE = _Template()


def _split(path: str) -> tuple[str, str] | None:
    """(store, token) of a tracking read's path, or None."""
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    if len(parts) != 3 or parts[1] != "orders" or not parts[0] or not parts[2]:
        return None
    if len(parts[0]) > MAX_SLUG or len(parts[2]) > MAX_TOKEN:
        return None
    return parts[0], parts[2]


def _if_none_match(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return bytes(value)
    return None


class TrackingFastLane:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (found := _split(scope["path"])):
            answered = await self._answer(scope, send, *found)
            if answered:
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, slug: str, token: str) -> bool:
        state: Any = scope["app"].state
        cache, lane = getattr(state, "store_cache", None), getattr(state, "read_lane", None)
        if cache is None or lane is None:  # SQLite: no lane, the route answers
            return False
        store = cache.peek(slug)
        if store is None:
            return False
        try:
            row = await lane.fetchrow(SELECT, security.hash_token(token), store.id)
        except ReadLaneError:
            return False  # the route answers, and reports, whatever went wrong
        if row is None or row[1] is None or (row[2] is not None and row[2] <= clock.now()):
            return False
        tag = document.etag(row[0]).encode()
        scope["route"] = TEMPLATE  # logs and metrics name the route's template
        wanted = _if_none_match(scope)
        if wanted is not None and tag in (t.strip() for t in wanted.split(b",")):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", tag)]})
            await send({"type": "http.response.body", "body": b""})
            return True
        body = document_answer(row[1], store, token=token, settings=state.settings)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"etag", tag),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
