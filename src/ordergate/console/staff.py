"""Staff members: the owner invites them by email, changes their role or refund limit, deactivates
them (their sessions end at once); they sign in with a one-time code emailed to them
(accounts/codes.py: hashed, rate limited, sent through the outbox)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.accounts.codes import (
    CHECK_PER_CLIENT,
    CHECK_PER_TARGET,
    SEND_PER_CLIENT,
    SEND_PER_TARGET,
    check_rate,
    clean_code,
    issue_code,
    spend,
)
from ordergate.accounts.models import EMAIL, VerificationCode
from ordergate.audit.service import Actor
from ordergate.console.models import ROLES, STAFF, StaffMember
from ordergate.console.service import Operator, end_staff_sessions, open_session, staff_operator
from ordergate.contact import normal_email
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import get_store

STAFF_CODE = "staff"  # the verification code's purpose
log = structlog.get_logger("ordergate.console")


def staff_email(value: str, field: str = "email") -> str:
    try:
        return normal_email(value.strip()).lower()
    except ValueError as exc:
        raise Unprocessable(f"Enter an email address ({exc})", field=field) from None


def refund_limit(value: str, store: Store) -> int | None:
    """A refund limit typed in the store currency (blank: none at all) as minor units."""
    if not value.strip():
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise Unprocessable("Enter an amount like 50.00, or leave it blank", field="refund_limit") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal(10) ** 12:
        raise Unprocessable("Enter an amount of 0 or more", field="refund_limit")
    if amount != money.quantize(amount, store.currency):
        raise Unprocessable(
            f"{store.currency} has no smaller unit than {money.quantum(store.currency)}", field="refund_limit"
        )
    return int(amount.scaleb(money.exponent(store.currency)))


def limit_text(member: StaffMember, store: Store) -> str:
    if member.refund_limit is None:
        return ""
    return money.text(Decimal(member.refund_limit).scaleb(-money.exponent(store.currency)), store.currency)


def _role(value: str) -> str:
    if value not in ROLES:
        raise Unprocessable("Choose owner, staff or viewer", field="role")
    return value


async def list_staff(session: AsyncSession, store: Store) -> list[StaffMember]:
    rows = await session.scalars(
        select(StaffMember).where(StaffMember.store_id == store.id).order_by(StaffMember.email)
    )
    return list(rows)


async def _member(session: AsyncSession, store: Store, staff_id: int) -> StaffMember:
    member = await session.scalar(
        select(StaffMember)
        .where(StaffMember.id == staff_id, StaffMember.store_id == store.id)
        .with_for_update()
    )
    if member is None:
        raise NotFound("No such staff member in this store", field="staff_id")
    return member


async def invite(
    session: AsyncSession,
    store: Store,
    *,
    email: str,
    role: str,
    limit: str,
    actor: Actor,
    settings: Settings,
    link: Callable[[str], str],
) -> StaffMember:
    """A new staff member (or a deactivated one back), who is sent a sign-in code at once."""
    address, role = staff_email(email), _role(role)
    minor = refund_limit(limit, store) if role == STAFF else None
    member = await session.scalar(
        select(StaffMember).where(StaffMember.store_id == store.id, StaffMember.email == address)
    )
    if member is not None and member.active:
        raise Conflict(f"{address} is already on the staff", field="email")
    if member is None:
        member = StaffMember(store_id=store.id, email=address, created_by=actor.label)
        session.add(member)
    member.role, member.refund_limit, member.active = role, minor, True
    await session.flush()
    detail = {"role": role, "refund_limit": limit_text(member, store) or None}
    await actor.record(session, store_id=store.id, action="staff.invite", target=address, detail=detail)
    await issue_code(
        session, store, purpose=STAFF_CODE, kind=EMAIL, value=address, settings=settings, link=link
    )
    return member


async def change(
    session: AsyncSession, store: Store, staff_id: int, *, role: str, limit: str, actor: Actor
) -> StaffMember:
    member = await _member(session, store, staff_id)
    member.role = _role(role)
    member.refund_limit = refund_limit(limit, store) if member.role == STAFF else None
    await session.flush()
    detail = {"role": member.role, "refund_limit": limit_text(member, store) or None}
    await actor.record(session, store_id=store.id, action="staff.change", target=member.email, detail=detail)
    return member


async def deactivate(session: AsyncSession, store: Store, staff_id: int, *, actor: Actor) -> StaffMember:
    """The member can no longer sign in, and every session they have ends now."""
    member = await _member(session, store, staff_id)
    if member.active:
        member.active = False
        await end_staff_sessions(session, member.id)
        await actor.record(session, store_id=store.id, action="staff.deactivate", target=member.email)
    await session.flush()
    return member


async def send_code(
    session: AsyncSession,
    *,
    store_slug: str,
    email: str,
    client: str,
    settings: Settings,
    link: Callable[[str], str],
) -> str:
    """Start a staff sign-in: a code to `email` if it is an active staff member of the store. The
    answer (the code request's id) is the same either way, so nobody learns who is on the staff."""
    store = await get_store(session, store_slug)  # NotFound (field store) for an unknown store
    address = staff_email(email)
    target = f"staff:{store.id}:{address}"
    await check_rate(
        session,
        action="send",
        target=target,
        client=client,
        target_limit=SEND_PER_TARGET,
        client_limit=SEND_PER_CLIENT,
    )
    known = await session.scalar(
        select(StaffMember.id).where(
            StaffMember.store_id == store.id, StaffMember.email == address, StaffMember.active.is_(True)
        )
    )
    row = await issue_code(
        session,
        store,
        purpose=STAFF_CODE,
        kind=EMAIL,
        value=address,
        settings=settings,
        send=bool(known),
        link=link,
    )
    return row.public_id


async def waiting_code(session: AsyncSession, public_id: str) -> VerificationCode:
    row = await session.scalar(
        select(VerificationCode).where(
            VerificationCode.public_id == public_id, VerificationCode.purpose == STAFF_CODE
        )
    )
    if row is None:
        raise NotFound("No sign-in code is waiting here: ask for a new one", field="code")
    return row


async def sign_in_with_code(
    session: AsyncSession, public_id: str, code: str, *, client: str, settings: Settings
) -> tuple[str, Operator]:
    """Spend a staff sign-in code; a new console session for its staff member."""
    row = await waiting_code(session, public_id)
    target = f"staff:{row.store_id}:{row.contact_value}"
    await check_rate(
        session,
        action="check",
        target=target,
        client=client,
        target_limit=CHECK_PER_TARGET,
        client_limit=CHECK_PER_CLIENT,
    )
    digits = clean_code(code)
    locked = await session.scalar(
        select(VerificationCode).where(VerificationCode.id == row.id).with_for_update()
    )
    await spend(session, locked, digits, settings)
    member = await session.scalar(
        select(StaffMember).where(
            StaffMember.store_id == row.store_id,
            StaffMember.email == row.contact_value,
            StaffMember.active.is_(True),
        )
    )
    if member is None:  # deactivated since the code was sent (or never on the staff)
        raise NotFound("This address cannot sign in to this store: ask its owner", field="code")
    store = await session.get_one(Store, row.store_id)
    token, console_session = await open_session(session, store, staff_id=member.id)
    log.info("console_signed_in", store=store.slug, staff_id=member.id)
    who = Actor.for_staff(member.email, client)
    await who.record(
        session, store_id=store.id, action="console.sign_in", target="console", detail={"with": "email code"}
    )
    return token, staff_operator(await get_store(session, store.slug), member, console_session)
