"""Domain errors that carry their HTTP status, and their problem+json rendering (RFC 9457)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("ordergate.errors")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str | None = None, *, errors: Sequence[FieldError] = (), field: str | None = None
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors)
        if field is not None:
            self.errors.append(FieldError(field, self.detail))


class MalformedBody(DomainError):
    status, type, title = 400, "malformed-body", "The request body is not valid JSON"


class Unauthorized(DomainError):
    status, type, title = 401, "unauthorized", "A valid store API key is required"


class Forbidden(DomainError):
    status, type, title = 403, "forbidden", "This key does not give access to this store"


class NotFound(DomainError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, type, title = 409, "conflict", "Conflict"


class IllegalTransition(Conflict):
    type, title = "illegal-transition", "This order cannot make that move in its current state"


class OutOfStock(Conflict):
    type, title = "out-of-stock", "Not enough stock"


class NotAvailable(Conflict):
    type, title = "not-available", "Not available"


class IdempotencyConflict(Conflict):
    type, title = "idempotency-conflict", "This Idempotency-Key was used with a different request"


class CheckoutExpired(DomainError):
    status, type, title = 410, "checkout-expired", "This checkout has expired"


class CheckoutPlaced(DomainError):
    """A checkout that became an order: its id no longer reads the buyer's details or the order."""

    status, type, title = 410, "checkout-placed", "This checkout's order has been placed"


class PayloadTooLarge(DomainError):
    status, type, title = 413, "payload-too-large", "The request body is too large"


class UnsupportedMediaType(DomainError):
    status, type, title = 415, "unsupported-media-type", "Send the body as application/json"


class Unprocessable(DomainError):
    status, type, title = 422, "validation-error", "The request is not valid"


def problem_body(
    status: int, type_: str, title: str, detail: str | None = None, errors: Iterable[FieldError] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail or title}
    body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def problem_response(
    status: int,
    type_: str,
    title: str,
    detail: str | None = None,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    content = json.dumps(problem_body(status, type_, title, detail, errors)).encode()
    return Response(content, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def domain_problem(exc: DomainError) -> Response:
    return problem_response(exc.status, exc.type, exc.title, exc.detail, exc.errors)


def field_path(loc: Sequence[int | str]) -> str:
    """("body", "items", 0, "quantity") -> "items[0].quantity"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if not parts:
            return "body" if where == "body" else str(where)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before", "function-wrap")):
            continue
        else:
            out += f".{part}" if out else part
    return out or "body"


def _clean_message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError) -> Response:
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem_response(
            400, MalformedBody.type, MalformedBody.title, "The body could not be parsed as JSON"
        )
    errors = [
        FieldError(field_path(e.get("loc", ())), _clean_message(str(e.get("msg", "invalid")))) for e in raw
    ]
    return problem_response(
        422, Unprocessable.type, Unprocessable.title, errors[0].message if errors else None, errors
    )


def install_handlers(app: FastAPI) -> None:
    async def on_domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path only; one path may
            # have several routes (GET and POST registered apart).
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(exc.status_code, slug, str(exc.detail), headers=headers)

    async def on_crash(request: Request, exc: Exception) -> Response:
        # The route template, never the raw path: paths carry checkout ids and order tokens.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        orig = getattr(exc, "orig", None)  # a database error: its SQLSTATE says which kind, without data
        log.error(
            "unhandled_error", route=route, error=type(exc).__name__, sqlstate=getattr(orig, "sqlstate", None)
        )
        return problem_response(500, "internal-error", "Something went wrong on our side")

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _allowed_methods(request: Request) -> list[str]:
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problem types it can answer with, for the OpenAPI document."""
    out: dict[int | str, dict[str, Any]] = {}
    kinds: tuple[type[DomainError], ...] = (Unprocessable, *errors)
    for err in kinds:
        entry = out.setdefault(
            err.status, {"description": "", "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], err.title]))
    return out


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
