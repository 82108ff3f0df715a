"""Plain HTML forms to the services' own input schemas, and the services' errors back to form fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from ordergate.checkout.schemas import MAX_QUANTITY
from ordergate.errors import DomainError, field_path

M = TypeVar("M", bound=BaseModel)
MAX_CART_LINES = 100

DELIVERY_LABELS = {
    "name": "Full name",
    "address_line1": "Street address",
    "address_line2": "Address line 2",
    "city": "Town or city",
    "region": "County, state or region",
    "postal_code": "Postcode or ZIP",
    "country": "Country",
    "instructions": "Delivery instructions",
}
DELIVERY_AUTOCOMPLETE = {
    "name": "shipping name",
    "address_line1": "shipping address-line1",
    "address_line2": "shipping address-line2",
    "city": "shipping address-level2",
    "region": "shipping address-level1",
    "postal_code": "shipping postal-code",
    "country": "shipping country",
    "instructions": "off",
}
# What a still-missing field is called when the service says it is required.
MISSING_MESSAGES = {
    "contact": "Enter an email address or a phone number, so we can send you your tracking link",
    "items": "Your cart is empty",
    **{f"delivery.{name}": f"Enter your {label.lower()}" for name, label in DELIVERY_LABELS.items()},
    "delivery.country": "Choose the country to deliver to",
    "delivery.postal_code": "Enter your postcode or ZIP",
}

# The schemas speak to API clients; a few of their messages read better for a person at a form.
FRIENDLIER = {
    (
        "contact.phone",
        "not a phone number; give it with its country code, or set phone_region",
    ): "Not a phone number: check it, or start it with your country code (like +44)",
}


def buyer_words(field: str, message: str) -> str:
    """A validator's message as a person at the form needs it: what to check, where."""
    if field in FRIENDLIER_FIELDS and (field, message) in FRIENDLIER:
        return FRIENDLIER[(field, message)]
    if field.endswith("email") and message.startswith("not a valid email address"):
        if "must have an @-sign" in message:
            return "An email address needs an @, like name@example.com"
        if "before the @-sign" in message:
            return "Check the part before @"
        if "after the @-sign" in message:
            return "Check the part after @ (like example.com)"
        return "Check your email address: it should look like name@example.com"
    if field.endswith("phone") and message == "not a valid phone number for its country":
        return "This number is not right for its country: check the digits and the country"
    if field.endswith("country") and "ISO 3166-1" in message:
        return "Choose a country from the list"
    if message.startswith("String should have at most"):
        return "That is too long: use " + message.removeprefix("String should have ")
    return message


FRIENDLIER_FIELDS = {field for field, _ in FRIENDLIER}
# Where a service's error field is shown on the checkout form.
FIELD_ALIASES = {"contact": "contact.email", "accepted_policies": "accept_policies"}


class FormErrors:
    """Errors by form field (`contact.email`, `delivery.city`), plus page-level ones."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.general: list[str] = []

    def add(self, field: str, message: str) -> None:
        message = message[:1].upper() + message[1:]
        if field:
            self.fields.setdefault(field, message)
        else:
            self.general.append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def summary(self) -> list[tuple[str, str]]:
        """(field id or "", message) for the error summary at the top of the form."""
        return [(dom_id(f), m) for f, m in self.fields.items()] + [("", m) for m in self.general]


def dom_id(field: str) -> str:
    return field.replace(".", "-").replace("[", "-").replace("]", "").replace("_", "-")


def validate_part(model: type[M], data: Mapping[str, object], prefix: str, errors: FormErrors) -> M | None:
    """`model` from `data`, with every invalid field reported and left out, so valid ones still count."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        bad = set()
        for err in exc.errors():
            loc = err.get("loc", ())
            if loc:
                bad.add(loc[0])
            field = f"{prefix}.{field_path(loc)}"
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.add(field, buyer_words(field, message))
    rest = {k: v for k, v in data.items() if k not in bad}
    try:
        return model.model_validate(rest) if rest else None
    except ValidationError:
        return None


def domain_errors(exc: DomainError, errors: FormErrors, *, known: Iterable[str]) -> None:
    """A service's error, placed beside the fields it names (general when it names none we show)."""
    known = set(known)
    if not exc.errors:
        errors.add("", exc.detail)
        return
    for err in exc.errors:
        message = err.message
        if message.startswith("required"):
            message = MISSING_MESSAGES.get(err.field, message)
        field = FIELD_ALIASES.get(err.field, err.field)
        errors.add(field if field in known else "", buyer_words(err.field, message))


def cart_from(skus: list[str], quantities: list[str]) -> dict[str, int]:
    """A cart from parallel sku/qty lists (form fields or the storefront's query string).

    Unreadable quantities count as 0; zero removes a line; the same SKU twice adds up."""
    cart: dict[str, int] = {}
    for sku, raw in zip(skus, quantities, strict=False):
        sku = sku.strip()[:64]
        try:
            quantity = int(raw.strip() or "0")
        except ValueError:
            quantity = 0
        if not sku or quantity <= 0:
            continue
        cart[sku] = min(cart.get(sku, 0) + quantity, MAX_QUANTITY)
        if len(cart) >= MAX_CART_LINES:
            break
    return cart


def cart_query(cart: dict[str, int]) -> str:
    """The cart as the storefront's address carries it: sku=...&qty=... pairs."""
    return urlencode([pair for sku, qty in cart.items() for pair in (("sku", sku), ("qty", str(qty)))])


def form_str(value: object, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""
