"""The signed-in buyer: the session cookie, read only on account routes (/api/v1/account/...,
/account/...). Guest routes never see it: the middleware drops it before they run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from ordergate.accounts.errors import NotSignedIn
from ordergate.accounts.models import Account, AccountSession
from ordergate.accounts.sessions import resume_session
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.settings import Settings

SESSION_COOKIE = "og_account"


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: AccountSession
    token: str


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    # Path "/": the account pages and the account API both need it; guest paths have it stripped.
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.account_session_max_seconds,
        path="/",
        httponly=True,
        secure=not settings.demo,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=not settings.demo, samesite="lax")


async def signed_in_or_none(request: Request, session: Session, settings: AppSettings) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    found = await resume_session(session, token, settings=settings)
    if found is None or token is None:
        return None
    return SignedIn(found[0], found[1], token)


async def _signed_in(
    signed_in: Annotated[SignedIn | None, Depends(signed_in_or_none)],
) -> SignedIn:
    if signed_in is None:
        raise NotSignedIn("Sign in to your account first (the session may have ended)")
    return signed_in


CurrentAccount = Annotated[SignedIn, Depends(_signed_in)]
MaybeAccount = Annotated[SignedIn | None, Depends(signed_in_or_none)]
