"""Transactions that lose to a concurrent one (PostgreSQL deadlock or serialization failure) are run
again instead of answering 500: for requests, an ASGI middleware that replays the request while
nothing has been answered yet; for background work, `retrying`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
ATTEMPTS = 4
T = TypeVar("T")
log = structlog.get_logger("ordergate.db")
RETRIES = Counter("ordergate_db_retries", "Transactions run again after a deadlock or serialization failure")


def is_retryable(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, DBAPIError):
            code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            if code in RETRYABLE_SQLSTATES:
                return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


async def _pause(attempt: int) -> None:
    # Short and jittered: the winner of the conflict is usually done within milliseconds.
    await asyncio.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 - jitter, not a secret


async def retrying(work: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run `work` (one whole transaction) again when it fails with a deadlock or serialization error."""
    for attempt in range(ATTEMPTS):
        try:
            return await work()
        except DBAPIError as exc:
            if attempt == ATTEMPTS - 1 or not is_retryable(exc):
                raise
            RETRIES.inc()
            log.info("transaction_retried", what=what, attempt=attempt + 1)
            await _pause(attempt)
    raise AssertionError("unreachable")


class RetryConflicts:
    """ASGI middleware: a request whose transaction failed with a deadlock or serialization error
    before any answer was sent is run again from the start (the body it read is replayed); the
    failed attempt's transaction was rolled back, and side effects wait for the commit (outbox)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        for attempt in range(ATTEMPTS):
            answering = Answering(send)
            try:
                await self.app(scope, _replaying(received, receive), answering)
                return
            except Exception as exc:
                if answering.started or attempt == ATTEMPTS - 1 or not is_retryable(exc):
                    raise
                RETRIES.inc()
                log.info("request_retried", attempt=attempt + 1)
                await _pause(attempt)


class Answering:
    """`send`, noting whether the answer has begun (after that, nothing can be run again)."""

    def __init__(self, send: Send):
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        self.started = True
        await self.send(message)


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """The body messages an earlier attempt read, then the client's own; all kept in `received`."""
    pending = list(received)

    async def receive_again() -> Message:
        if pending:
            return pending.pop(0)
        message = await receive()
        received.append(message)
        return message

    return receive_again
