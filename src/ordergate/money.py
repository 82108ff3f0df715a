"""Money as Decimal, quantised per currency or asset; formatting for people."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal

from babel.numbers import format_currency, get_currency_precision

# Assets that are not ISO 4217 currencies, with their smallest unit's exponent.
ASSET_EXPONENTS = {"SBX": 8, "BTC": 8, "TBTC": 8}


def exponent(code: str) -> int:
    code = code.upper()
    if code in ASSET_EXPONENTS:
        return ASSET_EXPONENTS[code]
    return int(get_currency_precision(code))


def quantum(code: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(code))


def quantize(amount: Decimal, code: str) -> Decimal:
    return amount.quantize(quantum(code), rounding=ROUND_HALF_EVEN)


def text(amount: Decimal, code: str) -> str:
    """The contract's decimal string: quantised, never in exponent form (`0.00000000`, not `0E-8`)."""
    return format(quantize(amount, code), "f")


def convert(amount: Decimal, *, rate: Decimal, asset: str) -> Decimal:
    """Price in the store currency -> amount in `asset` at `rate` (currency units per asset unit).

    Rounded up so the buyer never pays less than the price."""
    return (amount / rate).quantize(quantum(asset), rounding=ROUND_UP)


def display(amount: Decimal, code: str, locale: str = "en_GB") -> str:
    if code.upper() in ASSET_EXPONENTS:
        return f"{amount} {code}"
    return str(format_currency(amount, code, locale=locale))
