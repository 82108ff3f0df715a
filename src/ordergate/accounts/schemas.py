"""Account shapes: codes and claims in; the account, its orders, contacts, passkeys and points out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
PublicId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimIn(_In):
    """Which of the order's contacts gets the code (default: the email address when there is one)."""

    channel: Literal["email", "phone"] | None = None


class CodeIn(_In):
    code: Code


class ChallengeCodeIn(_In):
    challenge: PublicId
    code: Code


class CodeSentOut(BaseModel):
    """A code is on its way. `verify_url` is the page where it can be typed (or where the link in
    the message leads); it holds no secret."""

    sent_to: str
    channel: str
    challenge: str
    expires_at: datetime
    verify_url: str


class SignInRequestOut(BaseModel):
    """The same answer whether or not the contact has an account or orders here (nothing leaks)."""

    challenge: str
    verify_url: str
    expires_at: datetime


class ContactOut(BaseModel):
    kind: str
    value: str
    verified: bool
    verified_at: datetime | None = None


class ShipmentLinkOut(BaseModel):
    carrier: str
    tracking_number: str
    shipped_at: datetime


class AccountOrderOut(BaseModel):
    number: str
    store: str
    status: str
    created_at: datetime
    total: str
    currency: str
    item_count: int
    source: str
    tracking_url: str | None
    shipments: list[ShipmentLinkOut]
    points: int = 0  # points this order earned (net)
    payment_received: bool = False  # paid in full in time, waiting for confirmations: nothing to pay


class PasskeyOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class LoyaltyEntryOut(BaseModel):
    order_number: str | None
    kind: str
    points: int
    created_at: datetime


class LoyaltyOut(BaseModel):
    store: str
    balance: int
    points_per_unit: str
    entries: list[LoyaltyEntryOut]


class AccountOut(BaseModel):
    id: int
    status: str
    created_at: datetime
    contacts: list[ContactOut]
    passkeys: list[PasskeyOut] = Field(default_factory=list)
    orders: list[AccountOrderOut] = Field(default_factory=list)
    attached: int = 0  # orders newly attached by this request


class AccountOrdersOut(BaseModel):
    items: list[AccountOrderOut]


class SignedOutOut(BaseModel):
    sessions_ended: int


class PasskeyOptionsOut(BaseModel):
    challenge: str
    # The options exactly as navigator.credentials.create()/get() expect them, base64url for bytes.
    public_key: dict[str, Any] = Field(serialization_alias="publicKey")


class PasskeyRegistrationIn(_In):
    challenge: PublicId
    credential: dict[str, Any]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class PasskeySignInIn(_In):
    challenge: PublicId
    credential: dict[str, Any]
