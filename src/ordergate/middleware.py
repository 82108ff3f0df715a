"""ASGI middleware: guest credential isolation, body limits and content types, security headers,
request ids, access logs and request metrics. Raw paths (which hold tokens) are never logged."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.errors import FieldError, PayloadTooLarge, UnsupportedMediaType, problem_body

CSRF_COOKIE = "og_csrf"
log = structlog.get_logger("ordergate.http")

REQUEST_SECONDS = Histogram(
    "ordergate_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
REQUESTS = Counter(
    "ordergate_http_requests", "HTTP requests by route template", ["method", "route", "status"]
)


# Each (method, route template, status)'s two metric children, looked up once: `labels()` takes a lock
# and builds its key on every call. Bounded: methods x route templates x statuses.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _request_metrics(method: str, route: str, status: int) -> tuple[Any, Any]:
    key = (method, route, status)
    children = _CHILDREN.get(key)
    if children is None:
        labels = (method, route, str(status))
        children = _CHILDREN[key] = (REQUEST_SECONDS.labels(*labels), REQUESTS.labels(*labels))
    return children


def is_guest_path(path: str) -> bool:
    if path.startswith("/api/v1/stores/"):
        return "/admin/" not in path and not path.endswith("/admin")
    # /mcp: the assistants' tools (ordergate.agent) read no credentials either.
    return path.startswith(("/s/", "/api/v1/sandbox/", "/mcp/")) or path == "/mcp"


def _only_csrf_cookie(cookie: bytes) -> bytes:
    kept = [c.strip() for c in cookie.split(b";") if c.strip().startswith(CSRF_COOKIE.encode() + b"=")]
    return b"; ".join(kept)


# Control characters (C0 but tab, LF and CR; DEL; C1) have no place in any text we store: NUL breaks
# PostgreSQL text columns, the others hide in names and addresses. Refused however the body spells them.
_RAW_CONTROL = rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]"
_JSON_CONTROL = rb"\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])"
_FORM_CONTROL = rb"%(?:0[0-8bcefBCEF]|1[0-9a-fA-F]|7[fF]|[cC]2%[89][0-9a-fA-F])"
_CONTROL_IN = {
    "json": re.compile(_RAW_CONTROL + b"|" + _JSON_CONTROL),
    "form": re.compile(_RAW_CONTROL + b"|" + _FORM_CONTROL),
    "raw": re.compile(_RAW_CONTROL),
}
_LONGEST_SPELLING = 6  # `\u001f`, `%C2%85`
CONTROL_TITLE = "Text may not contain NUL or other control characters"


class _BodyLimit:
    """Watches a streamed body: past the size limit, or on a control character, the app is told the
    client went away and the request is answered with a problem instead."""

    def __init__(self, limit: int, path: str, headers: list[tuple[bytes, bytes]]):
        self.limit, self.seen, self.answering = limit, 0, False
        self.path, self.headers, self.tail = path, headers, b""
        self.refusal: tuple[int, str, str, str] | None = None
        self._forbidden: re.Pattern[bytes] | None = None
        self._looked = False

    @property
    def forbidden(self) -> re.Pattern[bytes] | None:
        """How a control character is spelled in this body: worked out at its first bytes (most
        requests have none)."""
        if not self._looked:
            self._forbidden, self._looked = _control_characters(self.path, self.headers), True
        return self._forbidden

    @property
    def exceeded(self) -> bool:
        return self.refusal is not None

    def wrap(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            if self.exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if not chunk:
                    return message
                self.seen += len(chunk)
                forbidden = self.forbidden
                if self.seen > self.limit:
                    self.refusal = (413, PayloadTooLarge.type, PayloadTooLarge.title, "body")
                elif forbidden and forbidden.search(self.tail + chunk):
                    self.refusal = (422, "validation-error", CONTROL_TITLE, "body")
                if self.exceeded:
                    return {"type": "http.disconnect"}
                if forbidden:
                    self.tail = (self.tail + chunk)[-(_LONGEST_SPELLING - 1) :]
            return message

        return wrapped


def _media_type(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """(media type, charset) of the request body, lower case."""
    ctype = dict(headers).get(b"content-type", b"").lower()
    media, _, params = ctype.partition(b";")
    charset = b""
    for param in params.split(b";"):
        name, _, value = param.strip().partition(b"=")
        if name == b"charset":
            charset = value.strip(b'" ')
    return media.strip(), charset


def _control_characters(path: str, headers: list[tuple[bytes, bytes]]) -> re.Pattern[bytes] | None:
    """How a control character is spelled in this request's body, where we decode it."""
    if path.startswith(("/api/v1/intake/", "/api/v1/webhooks/")):
        return None  # stored byte for byte; their own checks decide
    media, _ = _media_type(headers)
    if media == b"application/x-www-form-urlencoded":
        return _CONTROL_IN["form"]
    if media == b"application/json" or media.endswith(b"+json"):
        return _CONTROL_IN["json"]
    return _CONTROL_IN["raw"]  # multipart and anything else: the bytes as sent


def _without_credentials(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers without Authorization, and Cookie without anything but the CSRF cookie."""
    cleaned = []
    for name, value in headers:
        if name == b"authorization":
            continue
        if name == b"cookie":
            value = _only_csrf_cookie(value)
            if not value:
                continue
        cleaned.append((name, value))
    return cleaned


_SECURITY_HEADERS = [(b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff")]
_NO_STORE = (b"cache-control", b"no-store")


def _with_response_headers(message: Message, request_id: str, path: str) -> Message:
    headers = list(message.get("headers", []))
    no_store = path.startswith(("/api/", "/s/", "/mcp")) and not any(
        k.lower() == b"cache-control" for k, _ in headers
    )
    headers.append((b"x-request-id", request_id.encode()))
    headers += _SECURITY_HEADERS
    if no_store:
        headers.append(_NO_STORE)
    return {**message, "headers": headers}


class RequestGuard:
    """Everything a request must pass before a handler sees it."""

    def __init__(self, app: ASGIApp, *, max_body: int, intake_max_body: int):
        self.app, self.max_body, self.intake_max_body = app, max_body, intake_max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        request_id = os.urandom(8).hex()  # 16 hex digits
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])

        if is_guest_path(path):
            # Guest routes read no credentials: drop them before anything can look.
            headers = _without_credentials(headers)
            scope = {**scope, "headers": headers}

        status_holder = {"status": 500}
        body_limit = _BodyLimit(
            self.intake_max_body if path.startswith("/api/v1/intake/") else self.max_body, path, headers
        )

        async def send_with_headers(message: Message) -> None:
            if body_limit.exceeded and not body_limit.answering:
                return  # the app's answer to a body we cut off is replaced by our 413
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message = _with_response_headers(message, request_id, path)
            await send(message)

        problem = self._precheck(scope, headers, path)
        try:
            if problem is not None:
                await _send_problem(send_with_headers, *problem)
            else:
                try:
                    await self.app(scope, body_limit.wrap(receive), send_with_headers)
                except Exception:
                    if not body_limit.exceeded:
                        raise
                if body_limit.refusal is not None:
                    body_limit.answering = True
                    await _send_problem(send_with_headers, *body_limit.refusal)
        finally:
            route = route_template(scope)
            status = status_holder["status"]
            elapsed = time.perf_counter() - started
            seconds, count = _request_metrics(scope["method"], route, status)
            seconds.observe(elapsed)
            count.inc()
            if route not in ("/healthz", "/metrics"):
                log.info(
                    "request",
                    request_id=request_id,
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )

    def _precheck(
        self, scope: Scope, headers: list[tuple[bytes, bytes]], path: str
    ) -> tuple[int, str, str] | tuple[int, str, str, str] | None:
        # No text column can hold a NUL character: refuse it at the door, never as a database error.
        if "\x00" in path:
            return 400, "bad-request", "The path may not contain the NUL character", "path"
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or b"%00" in query:
            return 400, "bad-request", "The query may not contain the NUL character", "query"
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return None
        values = {k.lower(): v for k, v in headers}
        limit = self.intake_max_body if path.startswith("/api/v1/intake/") else self.max_body
        length = values.get(b"content-length")
        if length is not None:
            try:
                # The intake route refuses oversized deliveries itself, so that it can record them.
                if int(length) > limit and not path.startswith("/api/v1/intake/"):
                    return 413, PayloadTooLarge.type, PayloadTooLarge.title
                has_body = int(length) > 0
            except ValueError:
                return 400, "bad-request", "Content-Length is not a number"
        else:
            has_body = b"transfer-encoding" in values
        media, charset = _media_type(headers)
        if charset not in (b"", b"utf-8", b"utf8", b"us-ascii") and not path.startswith(
            ("/api/v1/intake/", "/api/v1/webhooks/")
        ):
            # Other charsets (UTF-7, UTF-16) spell control characters in bytes we would not see.
            return 415, UnsupportedMediaType.type, "Send the body in UTF-8", "content-type"
        json_api = path.startswith("/api/") and not path.startswith(("/api/v1/intake/", "/api/v1/webhooks/"))
        if json_api and has_body and media != b"application/json" and not media.endswith(b"+json"):
            return 415, UnsupportedMediaType.type, UnsupportedMediaType.title
        return None


async def _send_problem(send: Send, status: int, type_: str, title: str, field: str | None = None) -> None:
    errors = [FieldError(field, title)] if field else []
    body = json.dumps(problem_body(status, type_, title, errors=errors)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def route_template(scope: Scope) -> str:
    """The route template a request matched (`/api/v1/stores/{store}/orders/{token}`), never the raw
    path: the router records the matched route in the scope."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
