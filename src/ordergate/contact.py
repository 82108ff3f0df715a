"""How a buyer is reached: email and phone validation shared by checkout, accounts, notifications
and intake (an email normalised by email-validator, a phone number in E.164)."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationInfo, field_validator


def valid_country(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as GB or DE")
    return code


def normal_email(value: str) -> str:
    """The address as email-validator normalises it, or ValueError saying why it is not one."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None


def normal_phone(value: str, region: str | None) -> str:
    """The number in E.164 (`region` reads a national number), or ValueError saying why it is not one."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number; give it with its country code, or set phone_region") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number for its country")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    phone_region: str | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normal_email(value) if value else None

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return valid_country(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        return normal_phone(value, info.data.get("phone_region")) if value else None
