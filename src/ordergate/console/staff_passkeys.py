"""Staff passkeys. A staff member's passkey is the passkey of the person's account for the staff
email (accounts/passkeys.py): the emailed code proved that address, so registering one from the
console makes (or finds) the account holding it. Signing in with the passkey opens a console session
in the store where one of the account's verified emails is active staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts import passkeys
from ordergate.accounts.models import EMAIL, AccountContact, Passkey
from ordergate.accounts.schemas import PasskeyOptionsOut
from ordergate.accounts.service import prove_contact
from ordergate.audit.service import Actor
from ordergate.console.models import StaffMember
from ordergate.console.service import Operator, open_session, staff_operator
from ordergate.errors import Conflict, Forbidden
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import get_store


def _email_of(operator: Operator) -> str:
    if operator.email is None:
        raise Forbidden(
            "Passkeys are for staff members: a key's holder signs in with the key", field="passkey"
        )
    return operator.email


async def registration_options(
    session: AsyncSession, operator: Operator, *, settings: Settings
) -> PasskeyOptionsOut:
    account = await prove_contact(session, kind=EMAIL, value=_email_of(operator))
    return await passkeys.registration_options(
        session, account, settings=settings, store_name=operator.store.name
    )


async def register(
    session: AsyncSession,
    operator: Operator,
    *,
    challenge_id: str,
    credential: dict[str, object],
    name: str | None,
    settings: Settings,
) -> Passkey:
    account = await prove_contact(session, kind=EMAIL, value=_email_of(operator))
    passkey = await passkeys.register(
        session, account, challenge_id=challenge_id, credential=dict(credential), name=name, settings=settings
    )
    await operator.actor.record(
        session,
        store_id=operator.store.id,
        action="staff.passkey_add",
        target=_email_of(operator),
        detail={"name": passkey.name},
    )
    return passkey


async def passkey_names(session: AsyncSession, operator: Operator) -> list[str]:
    if operator.email is None:
        return []
    rows = await session.scalars(
        select(Passkey.name)
        .join(AccountContact, AccountContact.account_id == Passkey.account_id)
        .where(
            AccountContact.kind == EMAIL,
            AccountContact.value == operator.email,
            AccountContact.verified_at.is_not(None),
        )
        .order_by(Passkey.id)
    )
    return list(rows)


async def sign_in(
    session: AsyncSession,
    *,
    challenge_id: str,
    credential: dict[str, object],
    client: str,
    settings: Settings,
) -> tuple[str, Operator]:
    """A console session for the staff member whose passkey signed the challenge."""
    account = await passkeys.authenticate(
        session, challenge_id=challenge_id, credential=dict(credential), settings=settings
    )
    emails = select(AccountContact.value).where(
        AccountContact.account_id == account.id,
        AccountContact.kind == EMAIL,
        AccountContact.verified_at.is_not(None),
    )
    members = list(
        await session.scalars(
            select(StaffMember).where(StaffMember.email.in_(emails), StaffMember.active.is_(True))
        )
    )
    if not members:
        raise Forbidden(
            "This passkey belongs to nobody on a store's staff: sign in with your email", field="credential"
        )
    if len(members) > 1:
        raise Conflict(
            "You are on the staff of several stores: sign in with your email and the store",
            field="credential",
        )
    (member,) = members
    store = await session.get_one(Store, member.store_id)
    token, console_session = await open_session(session, store, staff_id=member.id)
    who = Actor.for_staff(member.email, client)
    await who.record(
        session, store_id=store.id, action="console.sign_in", target="console", detail={"with": "passkey"}
    )
    return token, staff_operator(await get_store(session, store.slug), member, console_session)
