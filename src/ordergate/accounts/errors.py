"""Account errors: each carries its HTTP status and problem type."""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.errors import Conflict, DomainError, FieldError, Unprocessable


class RateLimited(DomainError):
    status, type, title = 429, "rate-limited", "Too many attempts; wait a little and try again"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int,
        errors: Sequence[FieldError] = (),
        field: str | None = None,
    ):
        super().__init__(detail, errors=errors, field=field)
        self.retry_after = max(int(retry_after), 1)


class InvalidCode(Unprocessable):
    type, title = "invalid-code", "That code is not right"


class NotSignedIn(DomainError):
    status, type, title = 401, "not-signed-in", "Sign in to your account first"


class ContactTaken(Conflict):
    type, title = "contact-taken", "This contact belongs to another account"


class PasskeyRejected(DomainError):
    status, type, title = 400, "passkey-rejected", "The passkey's answer could not be verified"
