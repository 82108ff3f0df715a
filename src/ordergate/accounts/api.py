"""Account routes. `guest`: the two contract routes under the guest prefix (they read no credentials;
they may set the session cookie). `router`: the signed-in buyer's API under /api/v1/account, the
only API paths where the session cookie is read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from ordergate.accounts import claims, passkeys, service, sessions
from ordergate.accounts.auth import (
    SESSION_COOKIE,
    CurrentAccount,
    MaybeAccount,
    clear_session_cookie,
    set_session_cookie,
)
from ordergate.accounts.checkout_api import router as checkout_router
from ordergate.accounts.errors import ContactTaken, InvalidCode, NotSignedIn, PasskeyRejected, RateLimited
from ordergate.accounts.schemas import (
    AccountOrdersOut,
    AccountOut,
    ChallengeCodeIn,
    ClaimIn,
    CodeIn,
    CodeSentOut,
    LoyaltyOut,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyRegistrationIn,
    PasskeySignInIn,
    SignedOutOut,
    SignInRequestOut,
)
from ordergate.contact import ContactIn
from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, client_address
from ordergate.errors import (
    Conflict,
    DomainError,
    NotFound,
    Unprocessable,
    problem_response,
    responses,
)
from ordergate.stores.service import get_store

guest = APIRouter(prefix="/api/v1/stores/{store}/orders/{token}/account", tags=["guest: accounts"])
router = APIRouter(prefix="/api/v1/account", tags=["account"])

Token = Annotated[str, Path(max_length=128)]
CheckoutId = Annotated[str, Path(max_length=128)]
Number = Annotated[str, Path(max_length=32)]
StoreQuery = Annotated[str | None, Query(max_length=64)]
SIGNED_IN = (NotSignedIn,)


def kept(exc: DomainError) -> Response:
    """A wrong code, a rate limit or a refused passkey, answered without rolling back: the counted
    try stays counted, the spent challenge stays spent."""
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return problem_response(exc.status, exc.type, exc.title, exc.detail, exc.errors, headers=headers)


# --- guest: the contract's two routes -------------------------------------------------------------


@guest.post(
    "",
    status_code=202,
    response_model=CodeSentOut,
    responses=responses(NotFound, RateLimited),
)
async def start_account(
    request: Request,
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    token: Token,
    body: Annotated[ClaimIn | None, Body()] = None,
) -> CodeSentOut | Response:
    """Start turning this order's guest into an account: a one-time code goes to the order's contact."""
    try:
        return await claims.start_claim(
            session,
            store,
            token,
            channel=body.channel if body else None,
            client=client_address(request),
            settings=settings,
        )
    except RateLimited as exc:
        return kept(exc)


@guest.post(
    "/verify",
    status_code=201,
    response_model=AccountOut,
    responses=responses(NotFound, InvalidCode, RateLimited),
)
async def verify_account(
    request: Request,
    response: Response,
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    token: Token,
    body: CodeIn,
) -> AccountOut | Response:
    """The code from the message: the account is made (or found), the buyer is signed in, and every
    order of this store placed with the verified contact is now the account's."""
    try:
        account, attached = await claims.finish_claim(
            session, store, token, body.code, client=client_address(request), settings=settings
        )
    except (InvalidCode, RateLimited) as exc:
        return kept(exc)
    set_session_cookie(
        response, await sessions.start_session(session, account, method="code", settings=settings), settings
    )
    return await service.account_view(session, account, settings=settings, store=store, attached=attached)


# --- signing in ------------------------------------------------------------------------------------


@router.post(
    "/stores/{store}/sign-in",
    status_code=202,
    response_model=SignInRequestOut,
    responses=responses(NotFound, RateLimited),
)
async def request_sign_in_code(
    request: Request, session: Session, store: CurrentStore, settings: AppSettings, body: ContactIn
) -> SignInRequestOut | Response:
    """A sign-in code to the buyer's email or phone, when it has an account or orders in this store
    (the answer is the same either way)."""
    contact = body.email or body.phone
    if not contact or (body.email and body.phone):
        raise Unprocessable("Give either an email address or a phone number", field="email")
    try:
        return await claims.start_sign_in(
            session, store, contact, client=client_address(request), settings=settings
        )
    except RateLimited as exc:
        return kept(exc)


@router.post(
    "/stores/{store}/codes/verify",
    status_code=201,
    response_model=AccountOut,
    responses=responses(NotFound, InvalidCode, RateLimited, Conflict, ContactTaken),
)
async def verify_code(
    request: Request,
    response: Response,
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: MaybeAccount,
    body: ChallengeCodeIn,
) -> AccountOut | Response:
    """Any code by its request id (`challenge`): sign-in codes sign in; a contact code (for the
    signed-in account that asked for it) verifies that contact."""
    try:
        account, attached, purpose = await claims.finish_code(
            session,
            store,
            body.challenge,
            body.code,
            account=current.account if current else None,
            client=client_address(request),
            settings=settings,
        )
    except (InvalidCode, RateLimited) as exc:
        return kept(exc)
    if purpose != claims.CONTACT or current is None:
        if current is not None:
            await sessions.end_session(session, current.token)  # one session per browser
        token = await sessions.start_session(session, account, method="code", settings=settings)
        set_session_cookie(response, token, settings)
    return await service.account_view(session, account, settings=settings, store=store, attached=attached)


@router.post("/sign-out", response_model=SignedOutOut)
async def sign_out(
    request: Request, response: Response, session: Session, settings: AppSettings
) -> SignedOutOut:
    ended = await sessions.end_session(session, request.cookies.get(SESSION_COOKIE))
    clear_session_cookie(response, settings)
    return SignedOutOut(sessions_ended=ended)


@router.post("/sign-out-everywhere", response_model=SignedOutOut, responses=responses(*SIGNED_IN))
async def sign_out_everywhere(
    response: Response, session: Session, settings: AppSettings, current: CurrentAccount
) -> SignedOutOut:
    ended = await sessions.end_all_sessions(session, current.account)
    clear_session_cookie(response, settings)
    return SignedOutOut(sessions_ended=ended)


# --- the account -----------------------------------------------------------------------------------


@router.get("", response_model=AccountOut, responses=responses(*SIGNED_IN))
async def get_account(session: Session, settings: AppSettings, current: CurrentAccount) -> AccountOut:
    return await service.account_view(session, current.account, settings=settings)


@router.get("/orders", response_model=AccountOrdersOut, responses=responses(*SIGNED_IN, NotFound))
async def list_orders(
    session: Session, settings: AppSettings, current: CurrentAccount, store: StoreQuery = None
) -> AccountOrdersOut:
    """The account's orders, newest first; with `store`, that store's (after attaching any of its
    orders placed since with a contact the account has verified)."""
    shop = await get_store(session, store) if store else None
    if shop is not None:
        await service.attach_orders(session, current.account, shop)
    return AccountOrdersOut(
        items=await service.account_orders(session, current.account, settings=settings, store=shop)
    )


@router.get("/stores/{store}/loyalty", response_model=LoyaltyOut, responses=responses(*SIGNED_IN, NotFound))
async def loyalty(session: Session, store: CurrentStore, current: CurrentAccount) -> LoyaltyOut:
    return await service.loyalty_view(session, current.account, store)


@router.post(
    "/stores/{store}/contacts",
    status_code=202,
    response_model=CodeSentOut,
    responses=responses(*SIGNED_IN, NotFound, RateLimited),
)
async def add_contact(
    request: Request,
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: CurrentAccount,
    body: ContactIn,
) -> CodeSentOut | Response:
    """Add a second email or phone: a code goes to it; verify it with `POST .../codes/verify`."""
    contact = body.email or body.phone
    if not contact or (body.email and body.phone):
        raise Unprocessable("Give either an email address or a phone number", field="email")
    try:
        return await claims.start_add_contact(
            session, store, current.account, contact, client=client_address(request), settings=settings
        )
    except RateLimited as exc:
        return kept(exc)


@router.delete("/contacts/{contact_id}", status_code=204, responses=responses(*SIGNED_IN, NotFound, Conflict))
async def remove_contact(session: Session, current: CurrentAccount, contact_id: int) -> Response:
    await service.remove_contact(session, current.account, contact_id)
    return Response(status_code=204)


# --- passkeys --------------------------------------------------------------------------------------


@router.get("/passkeys", response_model=list[PasskeyOut], responses=responses(*SIGNED_IN))
async def list_passkeys(session: Session, current: CurrentAccount) -> list[PasskeyOut]:
    return await service.passkeys_of(session, current.account)


@router.post(
    "/passkeys/registration/options",
    response_model=PasskeyOptionsOut,
    responses=responses(*SIGNED_IN, Conflict),
)
async def passkey_registration_options(
    session: Session, settings: AppSettings, current: CurrentAccount, store: StoreQuery = None
) -> PasskeyOptionsOut:
    shop = await get_store(session, store) if store else None
    return await passkeys.registration_options(
        session, current.account, settings=settings, store_name=shop.name if shop else "ordergate"
    )


@router.post(
    "/passkeys",
    status_code=201,
    response_model=PasskeyOut,
    responses=responses(*SIGNED_IN, PasskeyRejected, Conflict),
)
async def register_passkey(
    session: Session, settings: AppSettings, current: CurrentAccount, body: PasskeyRegistrationIn
) -> PasskeyOut | Response:
    try:
        passkey = await passkeys.register(
            session,
            current.account,
            challenge_id=body.challenge,
            credential=body.credential,
            name=body.name,
            settings=settings,
        )
    except PasskeyRejected as exc:
        return kept(exc)  # the challenge stays spent
    return PasskeyOut(
        id=passkey.id, name=passkey.name, created_at=passkey.created_at, last_used_at=passkey.last_used_at
    )


@router.delete("/passkeys/{passkey_id:int}", status_code=204, responses=responses(*SIGNED_IN, NotFound))
async def remove_passkey(session: Session, current: CurrentAccount, passkey_id: int) -> Response:
    await passkeys.remove_passkey(session, current.account, passkey_id)
    return Response(status_code=204)


@router.post("/passkeys/sign-in/options", response_model=PasskeyOptionsOut)
async def passkey_sign_in_options(session: Session, settings: AppSettings) -> PasskeyOptionsOut:
    return await passkeys.authentication_options(session, settings=settings)


@router.post("/passkeys/sign-in", response_model=AccountOut, responses=responses(PasskeyRejected, NotFound))
async def passkey_sign_in(
    response: Response,
    session: Session,
    settings: AppSettings,
    body: PasskeySignInIn,
    current: MaybeAccount,
    store: StoreQuery = None,
) -> AccountOut | Response:
    """Sign in with a passkey: no password, no code. With `store`, that store's orders placed with
    the account's verified contacts are attached."""
    shop = await get_store(session, store) if store else None
    try:
        account = await passkeys.authenticate(
            session, challenge_id=body.challenge, credential=body.credential, settings=settings
        )
    except PasskeyRejected as exc:
        return kept(exc)  # the challenge stays spent: one answer per challenge, right or wrong
    attached = await service.attach_orders(session, account, shop) if shop else 0
    if current is not None:
        await sessions.end_session(session, current.token)  # one session per browser
    set_session_cookie(
        response,
        await sessions.start_session(session, account, method="passkey", settings=settings),
        settings,
    )
    return await service.account_view(session, account, settings=settings, store=shop, attached=attached)


router.include_router(checkout_router)  # /api/v1/account/stores/{store}/checkouts, reorders
