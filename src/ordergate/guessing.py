"""Per-client throttling of guesses: lookups of order tokens or checkout ids that do not exist, and
operator API keys with a wrong secret. Only failures count (a buyer reloading a real tracking page
is never counted); past the limit a client's secret-bearing requests get 429 with Retry-After."""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate import clock
from ordergate.errors import problem_body
from ordergate.ratelimit import allow

# Route templates whose path holds a secret, where a 404 means the secret names nothing.
SECRET_PARAMS = ("{token}", "{checkout_id}")
# Requests that may carry a guess, by raw path (before routing): blocked clients stop here.
GUESSABLE = re.compile(
    r"^/(?:api/v1/(?:sandbox/|account/)?stores/[^/]+/(?:orders|checkouts|admin)/|s/[^/]+/(?:orders|checkout)/)"
)
MAX_BLOCKED = 50_000  # remembered clients per process; the database holds the counts


class GuessThrottle:
    """ASGI middleware. Failures are counted in the database (so every web process agrees), in a
    transaction of their own (the request's own is rolled back on errors); each process remembers
    the clients it found over the limit, so refusing them costs no query at all."""

    def __init__(self, app: ASGIApp, *, failures: int, window_seconds: int):
        self.app, self.failures, self.window = app, failures, window_seconds
        self.blocked: dict[str, float] = {}  # client -> end of its window (epoch seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not GUESSABLE.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        until = self.blocked.get(client)
        now = clock.now().timestamp()
        if until is not None:
            if now < until:
                await _too_many(send, int(until - now) + 1)
                return
            del self.blocked[client]
        state: dict[str, int | None] = {"refused_for": None}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and _is_guess(scope, message["status"]):
                wait = await self._failed(scope, client)
                if wait is not None:
                    state["refused_for"] = wait
                    await _too_many(send, wait)
                    return
            if state["refused_for"] is None:
                await send(message)

        await self.app(scope, receive, watch)

    async def _failed(self, scope: Scope, client: str) -> int | None:
        """Count a failed guess; the seconds to wait when it was one too many."""
        maker: async_sessionmaker[AsyncSession] = scope["app"].state.sessionmaker
        bucket = "guess:" + hashlib.sha256(client.encode()).hexdigest()[:40]
        async with maker() as session, session.begin():
            within = await allow(session, bucket, limit=self.failures, period=self.window)
        if within:
            return None
        now = clock.now().timestamp()
        until = (int(now) // self.window + 1) * self.window
        if len(self.blocked) >= MAX_BLOCKED:
            self.blocked = {c: t for c, t in self.blocked.items() if t > now}
        self.blocked[client] = until
        return int(until - now) + 1


def _is_guess(scope: Scope, status: int) -> bool:
    route = str(getattr(scope.get("route"), "path", ""))
    if status == 404:
        return any(param in route for param in SECRET_PARAMS)
    # A bearer key that names no key, or the wrong secret for one (a missing header is no guess).
    return status == 401 and "/admin/" in route and any(k == b"authorization" for k, _ in scope["headers"])


async def _too_many(send: Send, retry_after: int) -> None:
    title = "Too many requests for things that do not exist from this address"
    body = problem_body(429, "rate-limited", title, f"Try again in {retry_after} seconds")
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(content)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
