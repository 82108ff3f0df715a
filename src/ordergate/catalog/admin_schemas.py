"""The operator's product shapes: create, edit, stock changes, the ledger, import outcomes."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def sku_text(value: str) -> str:
    value = value.strip()
    if not SKU_PATTERN.match(value):
        raise ValueError("a SKU is 1 to 64 letters, digits, dots, dashes, pluses or underscores (no spaces)")
    return value


Sku = Annotated[str, AfterValidator(sku_text)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=8, allow_inf_nan=False)]
STOCK_LIMIT = 1_000_000_000
Units = Annotated[int, Field(strict=True, ge=0, le=STOCK_LIMIT)]
Threshold = Annotated[int, Field(strict=True, ge=0, le=STOCK_LIMIT)]
Status = Literal["active", "archived"]


def image_url(value: str) -> str:
    """An absolute https (or http) address, or a path on this site; nothing else ends up in a page."""
    value = value.strip()
    if value and not (value.startswith(("https://", "http://")) or value.startswith("/")):
        raise ValueError("image_url must start with https://, http:// or /")
    if value.startswith("//") or any(c.isspace() or c in "\"'<>" for c in value):
        raise ValueError("image_url is not a usable address")
    return value


ImageUrl = Annotated[str, StringConstraints(max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(_In):
    sku: Sku
    name: Name
    price: Price
    description: Description = ""
    image_url: ImageUrl = ""
    on_hand: Units = 0
    low_stock_threshold: Threshold | None = None
    status: Status = "active"

    @field_validator("image_url")
    @classmethod
    def _image(cls, value: str) -> str:
        return image_url(value)


class ProductPatch(_In):
    name: Name | None = None
    price: Price | None = None
    description: Description | None = None
    image_url: ImageUrl | None = None
    status: Status | None = None
    low_stock_threshold: Threshold | None = None

    @field_validator("image_url")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else image_url(value)


class StockIn(_In):
    """Either `delta` (units in or out) or `on_hand` (the count on the shelf), with a reason."""

    delta: int | None = Field(default=None, strict=True, ge=-STOCK_LIMIT, le=STOCK_LIMIT)
    on_hand: Units | None = None
    reason: Reason

    @model_validator(mode="after")
    def _one_of(self) -> StockIn:
        if (self.delta is None) == (self.on_hand is None):
            raise ValueError("give either delta or on_hand")
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class AdminProductOut(BaseModel):
    sku: str
    name: str
    description: str
    price: str
    currency: str
    image_url: str
    status: Status
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int | None
    low_stock: bool


class AdminProductList(BaseModel):
    items: list[AdminProductOut]


class MovementOut(BaseModel):
    delta: int
    on_hand_after: int
    reserved_delta: int
    kind: str
    reason: str
    actor: str
    at: datetime
    order: str | None = None


class MovementList(BaseModel):
    sku: str
    movements: list[MovementOut]


class RowOutcome(BaseModel):
    """One row of an import: created, updated, unchanged, or refused with the reasons."""

    row: int
    sku: str
    outcome: Literal["created", "updated", "unchanged", "error"]
    errors: list[str] = Field(default_factory=list)
