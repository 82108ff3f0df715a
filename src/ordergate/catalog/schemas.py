"""Product listing shapes."""

from __future__ import annotations

from pydantic import BaseModel


class ProductOut(BaseModel):
    sku: str
    name: str
    description: str
    price: str
    currency: str
    available: bool
    available_quantity: int
    image_url: str = ""  # the operator's picture of it (https), "" when none


class ProductList(BaseModel):
    items: list[ProductOut]
