"""The signed-in operator's own page (who they are, their role, their passkeys) and the passkey
ceremonies of staff: adding one, and signing in with one (JSON, driven by account.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ordergate.accounts import passkeys
from ordergate.accounts.schemas import PasskeyRegistrationIn, PasskeySignInIn
from ordergate.console import staff_passkeys
from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, page, set_session_cookie
from ordergate.console.models import StaffMember
from ordergate.console.staff import limit_text
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError, problem_response

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)


def _kept(exc: DomainError) -> Response:
    """A refused passkey, answered without rolling back: the spent challenge stays spent."""
    return problem_response(exc.status, exc.type, exc.title, exc.detail, exc.errors)


@router.get("/me")
async def me_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    member = await session.get(StaffMember, found.staff_id) if found.staff_id else None
    return page(
        request,
        settings,
        "admin_me.html",
        found.store,
        found,
        section="me",
        passkeys=await staff_passkeys.passkey_names(session, found),
        limit=limit_text(member, found.store) if member is not None else "",
        added=request.query_params.get("done") == "passkey",
    )


@router.post("/me/passkeys/options")
async def passkey_options(session: Session, settings: AppSettings, found: ConsoleOperator) -> Response:
    options = await staff_passkeys.registration_options(session, found, settings=settings)
    return JSONResponse(options.model_dump(mode="json", by_alias=True))


@router.post("/me/passkeys", status_code=201)
async def passkey_add(
    session: Session, settings: AppSettings, found: ConsoleOperator, body: PasskeyRegistrationIn
) -> Response:
    try:
        passkey = await staff_passkeys.register(
            session,
            found,
            challenge_id=body.challenge,
            credential=body.credential,
            name=body.name,
            settings=settings,
        )
    except DomainError as exc:
        return _kept(exc)
    return JSONResponse({"name": passkey.name}, status_code=201)


@router.post("/sign-in/passkey/options")
async def sign_in_options(session: Session, settings: AppSettings) -> Response:
    options = await passkeys.authentication_options(session, settings=settings)
    return JSONResponse(options.model_dump(mode="json", by_alias=True))


@router.post("/sign-in/passkey")
async def sign_in_passkey(
    request: Request, session: Session, settings: AppSettings, body: PasskeySignInIn
) -> Response:
    try:
        token, _ = await staff_passkeys.sign_in(
            session,
            challenge_id=body.challenge,
            credential=body.credential,
            client=client_address(request),
            settings=settings,
        )
    except DomainError as exc:
        return _kept(exc)
    response = JSONResponse({"signed_in": True})
    set_session_cookie(response, token, settings)
    return response
