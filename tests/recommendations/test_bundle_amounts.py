"""Bundle discounts are exact: whatever the quantities, prices and percents, each discount is the
percent of B's price for min(A, B) units, rounded once to the currency; a unit of B is discounted
once at most; the total is subtotal - discount + shipping to the cent."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ordergate.catalog.models import Product
from ordergate.checkout.pricing import price_lines
from ordergate.recommendations.models import Bundle

cents = st.integers(1, 500_000).map(lambda c: Decimal(c).scaleb(-2))
quantities = st.integers(0, 60)
percents = st.integers(1, 90)


def _product(pid: int, price: Decimal) -> Product:
    return Product(id=pid, sku=f"SKU-{pid}", name=f"Product {pid}", price=price, on_hand=1000, reserved=0)


def _store(offers: list[Bundle], currency: str = "EUR") -> Any:
    return SimpleNamespace(currency=currency, shipping_flat="4.90", offers=offers)


def _bundle(bid: int, a: int, b: int, percent: int) -> Bundle:
    return Bundle(id=bid, product_a_id=a, product_b_id=b, percent_off=percent, state="approved")


@given(cents, cents, quantities, quantities, percents)
def test_one_bundle_discounts_min_of_the_two_quantities_exactly(
    price_a: Decimal, price_b: Decimal, qa: int, qb: int, percent: int
) -> None:
    products = {"SKU-1": _product(1, price_a), "SKU-2": _product(2, price_b)}
    items: list[dict[str, object]] = [
        {"sku": sku, "quantity": q} for sku, q in (("SKU-1", qa), ("SKU-2", qb)) if q
    ]
    lines, totals = price_lines(_store([_bundle(7, 1, 2, percent)]), items, products)
    expected = (price_b * min(qa, qb) * percent / Decimal(100)).quantize(Decimal("0.01"))
    assert totals.discount == expected
    assert totals.discount <= price_b * qb
    assert totals.total == totals.subtotal - totals.discount + totals.shipping
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in (totals.total, totals.discount))
    assert sum((line.discount for line in lines), Decimal(0)) == totals.discount
    if expected:
        (applied,) = totals.discounts
        assert (applied.bundle, applied.sku, applied.units) == (7, "SKU-2", min(qa, qb))
    else:
        assert totals.discounts == ()


@given(cents, st.integers(1, 60), st.integers(1, 60), st.integers(1, 60), percents, percents)
def test_a_unit_of_b_is_discounted_once_the_larger_offer_first(
    price_b: Decimal, qa1: int, qa2: int, qb: int, p1: int, p2: int
) -> None:
    products = {
        "SKU-1": _product(1, Decimal("10.00")),
        "SKU-2": _product(2, price_b),
        "SKU-3": _product(3, Decimal("5.00")),
    }
    items: list[dict[str, object]] = [
        {"sku": "SKU-1", "quantity": qa1},
        {"sku": "SKU-2", "quantity": qb},
        {"sku": "SKU-3", "quantity": qa2},
    ]
    offers = [_bundle(1, 1, 2, p1), _bundle(2, 3, 2, p2)]
    _lines, totals = price_lines(_store(offers), items, products)
    assert sum(d.units for d in totals.discounts) <= qb
    first, second = sorted([(p1, 1, qa1), (p2, 2, qa2)], key=lambda o: (-o[0], o[1]))
    units_first = min(first[2], qb)
    units_second = min(second[2], qb - units_first)
    expected = sum(
        (
            (price_b * units * percent / Decimal(100)).quantize(Decimal("0.01"))
            for percent, _id, units in ((first[0], 0, units_first), (second[0], 0, units_second))
        ),
        Decimal(0),
    )
    assert totals.discount == expected
    assert totals.total == totals.subtotal - totals.discount + totals.shipping


def test_a_zero_decimal_currency_rounds_to_whole_units() -> None:
    products = {"SKU-1": _product(1, Decimal("1000")), "SKU-2": _product(2, Decimal("333"))}
    items: list[dict[str, object]] = [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": 1}]
    _lines, totals = price_lines(_store([_bundle(1, 1, 2, 15)], currency="JPY"), items, products)
    assert totals.discount == Decimal("50")  # 49.95 rounded to the yen
    assert totals.out().discount == "50"


def test_without_an_approved_bundle_nothing_is_taken_off() -> None:
    products = {"SKU-1": _product(1, Decimal("10.00")), "SKU-2": _product(2, Decimal("4.00"))}
    items: list[dict[str, object]] = [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 2}]
    _lines, totals = price_lines(_store([]), items, products)
    assert (totals.discount, totals.total) == (Decimal(0), Decimal("32.90"))
