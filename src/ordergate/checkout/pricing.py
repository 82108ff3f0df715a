"""The one pricing function: a cart's lines from the live catalog, the store's approved bundle
discounts, shipping and total, in exact Decimal of the store's currency. Quotes, checkout views,
pages and placement all price through `price_lines`; nothing here knows who the buyer is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ordergate import money
from ordergate.catalog.models import Product
from ordergate.orders.schemas import DiscountOut, TotalsOut
from ordergate.recommendations.models import Bundle
from ordergate.recommendations.schemas import bundle_label
from ordergate.stores.models import Store


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal  # quantity x unit price, before any discount
    product: Product
    discount: Decimal = Decimal(0)  # bundle discounts on this line


@dataclass(frozen=True)
class Discount:
    """One approved bundle applied to a cart: `units` of B at `percent_off`."""

    bundle: int
    label: str
    sku: str
    units: int
    amount: Decimal

    def record(self, currency: str) -> dict[str, Any]:
        """What the order keeps of it (orders.discounts)."""
        return {
            "bundle": self.bundle,
            "label": self.label,
            "sku": self.sku,
            "units": self.units,
            "amount": money.text(self.amount, currency),
        }


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    currency: str
    discount: Decimal = Decimal(0)
    discounts: tuple[Discount, ...] = field(default=())

    def out(self) -> TotalsOut:
        return TotalsOut(
            subtotal=money.text(self.subtotal, self.currency),
            shipping=money.text(self.shipping, self.currency),
            total=money.text(self.total, self.currency),
            currency=self.currency,
            discount=money.text(self.discount, self.currency),
            discounts=[
                DiscountOut(
                    bundle=d.bundle,
                    label=d.label,
                    sku=d.sku,
                    units=d.units,
                    amount=money.text(d.amount, self.currency),
                )
                for d in self.discounts
            ],
        )


def bundle_saving(price: Decimal, units: int, percent_off: int, currency: str) -> Decimal:
    """`percent_off` of `units` of B at `price`, rounded once to the currency: the one formula."""
    return money.quantize(money.quantize(price, currency) * units * percent_off / Decimal(100), currency)


def bundle_discounts(offers: list[Bundle], lines: list[PricedLine], currency: str) -> list[Discount]:
    """Each approved bundle whose two products are in the cart takes `percent_off` off B's unit
    price for min(quantity of A, quantity of B) units. A unit of B is discounted once at most: the
    larger offer first (then the older bundle). Each amount is rounded once, to the currency."""
    by_product = {line.product.id: line for line in lines}
    discounted: dict[int, int] = {}
    found = []
    for offer in sorted(offers, key=lambda o: (-o.percent_off, o.id)):
        a, b = by_product.get(offer.product_a_id), by_product.get(offer.product_b_id)
        if a is None or b is None:
            continue
        units = min(a.quantity, b.quantity - discounted.get(b.product.id, 0))
        if units <= 0:
            continue
        discounted[b.product.id] = discounted.get(b.product.id, 0) + units
        amount = bundle_saving(b.unit_price, units, offer.percent_off, currency)
        if amount > 0:
            label = bundle_label(a.name, b.name, offer.percent_off)
            found.append(Discount(offer.id, label, b.sku, units, amount))
    return found


def price_lines(
    store: Store, items: list[dict[str, object]], products: Mapping[str, Product]
) -> tuple[list[PricedLine], Totals]:
    """Lines priced from the live catalog, in the store's currency, with the store's approved
    bundles (loaded with the store: no statement here) taken off."""
    lines = []
    for item in items:
        product = products.get(str(item["sku"]))
        if product is None:
            continue
        quantity = int(str(item["quantity"]))
        unit = money.quantize(product.price, store.currency)
        lines.append(PricedLine(product.sku, product.name, quantity, unit, unit * quantity, product))
    discounts = bundle_discounts(list(store.offers), lines, store.currency)
    if discounts:
        per_sku: dict[str, Decimal] = {}
        for d in discounts:
            per_sku[d.sku] = per_sku.get(d.sku, Decimal(0)) + d.amount
        lines = [
            PricedLine(
                ln.sku,
                ln.name,
                ln.quantity,
                ln.unit_price,
                ln.line_total,
                ln.product,
                per_sku.get(ln.sku, Decimal(0)),
            )
            for ln in lines
        ]
    subtotal = money.quantize(sum((line.line_total for line in lines), Decimal(0)), store.currency)
    discount = money.quantize(sum((d.amount for d in discounts), Decimal(0)), store.currency)
    shipping = money.quantize(Decimal(store.shipping_flat), store.currency) if lines else Decimal(0)
    total = money.quantize(subtotal - discount + shipping, store.currency)
    return lines, Totals(subtotal, shipping, total, store.currency, discount, tuple(discounts))
