"""Passkeys (WebAuthn, through py_webauthn): register one after verifying a contact, sign in with it
later with no password and no code. The relying party is the host of ORDERGATE_BASE_URL; the
challenge of each ceremony is kept in the database, single use and short-lived."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.accounts.errors import PasskeyRejected
from ordergate.accounts.models import ACTIVE, EMAIL, Account, AccountContact, Passkey, PasskeyChallenge
from ordergate.accounts.schemas import PasskeyOptionsOut
from ordergate.errors import Conflict, NotFound
from ordergate.settings import Settings
from ordergate.sql import rowcount

REGISTER, SIGN_IN = "register", "sign_in"
CEREMONY_SECONDS = 300
MAX_PASSKEYS = 20


# py_webauthn (and what it imports) is loaded by the first passkey request, not by every web process.
def bytes_to_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def base64url_to_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def relying_party(settings: Settings) -> tuple[str, str]:
    """(RP id, expected origin) from the base URL: `http://localhost:8123` -> ("localhost", same)."""
    parts = urlsplit(settings.base_url)
    host = parts.hostname or "localhost"
    return host, f"{parts.scheme}://{parts.netloc}"


async def _new_challenge(
    session: AsyncSession, *, purpose: str, challenge: bytes, account: Account | None
) -> PasskeyChallenge:
    now = clock.now()
    # Stale ceremonies of anyone: a cheap sweep, so the table only ever holds a few minutes' worth.
    await session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
    row = PasskeyChallenge(
        public_id=security.new_token(),
        purpose=purpose,
        account_id=account.id if account else None,
        challenge=bytes_to_base64url(challenge),
        created_at=now,
        expires_at=now + timedelta(seconds=CEREMONY_SECONDS),
    )
    session.add(row)
    await session.flush()
    return row


async def _spend_challenge(
    session: AsyncSession, public_id: str, *, purpose: str, account: Account | None
) -> bytes:
    now = clock.now()
    row = await session.scalar(
        select(PasskeyChallenge).where(
            PasskeyChallenge.public_id == public_id, PasskeyChallenge.purpose == purpose
        )
    )
    if row is None or row.expires_at <= now or row.used_at is not None:
        raise PasskeyRejected("This passkey request has expired: start again", field="challenge")
    if account is not None and row.account_id != account.id:
        raise PasskeyRejected("This passkey request belongs to another session", field="challenge")
    result = await session.execute(
        update(PasskeyChallenge)
        .where(PasskeyChallenge.id == row.id, PasskeyChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise PasskeyRejected("This passkey request was already used: start again", field="challenge")
    return base64url_to_bytes(row.challenge)


def _options(options: Any) -> dict[str, Any]:
    from webauthn import options_to_json

    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def registration_options(
    session: AsyncSession, account: Account, *, settings: Settings, store_name: str
) -> PasskeyOptionsOut:
    from webauthn import generate_registration_options
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    rp_id, _ = relying_party(settings)
    contacts = list(
        await session.scalars(
            select(AccountContact)
            .where(AccountContact.account_id == account.id, AccountContact.verified_at.is_not(None))
            .order_by(AccountContact.kind, AccountContact.id)
        )
    )
    # What the browser shows in its passkey list: the buyer's email (or phone), never an id.
    label = next((c.value for c in contacts if c.kind == EMAIL), contacts[0].value if contacts else "buyer")
    existing = list(await session.scalars(select(Passkey).where(Passkey.account_id == account.id)))
    if len(existing) >= MAX_PASSKEYS:
        raise Conflict(f"An account can hold {MAX_PASSKEYS} passkeys; remove one first", field="passkey")
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=store_name,
        user_name=label,
        user_display_name=label,
        user_id=base64url_to_bytes(account.user_handle),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in existing
        ],
    )
    row = await _new_challenge(session, purpose=REGISTER, challenge=options.challenge, account=account)
    return PasskeyOptionsOut(challenge=row.public_id, public_key=_options(options))


async def register(
    session: AsyncSession,
    account: Account,
    *,
    challenge_id: str,
    credential: dict[str, Any],
    name: str | None,
    settings: Settings,
) -> Passkey:
    from webauthn import verify_registration_response

    challenge = await _spend_challenge(session, challenge_id, purpose=REGISTER, account=account)
    rp_id, origin = relying_party(settings)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - WebAuthnException, or whatever else a hostile answer trips: a refusal
        raise PasskeyRejected(
            f"The passkey could not be registered: {exc}"[:300], field="credential"
        ) from None
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    transports = transports if isinstance(transports, list) else []
    now = clock.now()
    passkey = Passkey(
        account_id=account.id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t) for t in transports if isinstance(t, str)][:8],
        name=(name or "").strip() or f"Passkey {await _count(session, account) + 1}",
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(passkey)
            await session.flush()
    except IntegrityError:
        raise Conflict("This passkey is already registered", field="credential") from None
    return passkey


async def _count(session: AsyncSession, account: Account) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.account_id == account.id)
    )
    return int(found or 0)


async def authentication_options(session: AsyncSession, *, settings: Settings) -> PasskeyOptionsOut:
    """Options for signing in with any passkey of this site (discoverable: no user named first)."""
    from webauthn import generate_authentication_options
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _ = relying_party(settings)
    options = generate_authentication_options(
        rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    row = await _new_challenge(session, purpose=SIGN_IN, challenge=options.challenge, account=None)
    return PasskeyOptionsOut(challenge=row.public_id, public_key=_options(options))


async def authenticate(
    session: AsyncSession, *, challenge_id: str, credential: dict[str, Any], settings: Settings
) -> Account:
    """The account whose passkey signed this challenge; PasskeyRejected otherwise."""
    from webauthn import verify_authentication_response

    challenge = await _spend_challenge(session, challenge_id, purpose=SIGN_IN, account=None)
    raw_id = credential.get("rawId") or credential.get("id")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        raise PasskeyRejected("The passkey's answer has no credential id", field="credential")
    passkey = await session.scalar(select(Passkey).where(Passkey.credential_id == raw_id.rstrip("=")))
    if passkey is None:
        raise PasskeyRejected(
            "This passkey is not registered here (it may have been removed)", field="credential"
        )
    account = await session.get(Account, passkey.account_id)
    if account is None or account.status != ACTIVE:
        raise PasskeyRejected("This passkey's account is not active", field="credential")
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle and not security.same_secret(str(handle).rstrip("="), account.user_handle.rstrip("=")):
        raise PasskeyRejected("The passkey answered for another user", field="credential")
    rp_id, origin = relying_party(settings)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - WebAuthnException, or whatever else a hostile answer trips: a refusal
        raise PasskeyRejected(
            f"The passkey's answer could not be verified: {exc}"[:300], field="credential"
        ) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = clock.now()
    await session.flush()
    return account


async def remove_passkey(session: AsyncSession, account: Account, passkey_id: int) -> None:
    result = await session.execute(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.account_id == account.id)
    )
    if not rowcount(result):
        raise NotFound("No such passkey on this account", field="passkey")
