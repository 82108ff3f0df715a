"""Amounts as Stripe counts them: its own table of minor units, which is not ISO 4217 nor CLDR.

From Stripe's "Supported currencies" page (docs.stripe.com/currencies, sections "Zero-decimal",
"Three-decimal" and "Special cases"):
- zero-decimal currencies are sent as whole units (JPY 500 is `500`);
- three-decimal currencies are sent in thousandths whose last digit must be 0;
- ISK and UGX became zero-decimal but are still sent with two decimals that must be `00`
  (5 ISK is `500`); HUF and TWD are charged with two decimals (only their payouts are whole);
- every other currency is sent in hundredths, even where CLDR says it has none (RSD, LAK, IQD...).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
WHOLE_UNITS_WITH_TWO_DECIMALS = frozenset({"ISK", "UGX"})


def exponent(currency: str) -> int:
    """How many decimals Stripe's integer `amount` carries for `currency`."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def step(currency: str) -> Decimal:
    """The smallest amount Stripe accepts a charge to be a multiple of."""
    code = currency.upper()
    if code in WHOLE_UNITS_WITH_TWO_DECIMALS:
        return Decimal(1)
    if code in THREE_DECIMAL:
        return Decimal("0.01")  # thousandths ending in 0
    return Decimal(1).scaleb(-exponent(code))


def chargeable(amount: Decimal, currency: str) -> Decimal:
    """The amount Stripe can charge for a price of `amount`: rounded up to its step, so the buyer
    never pays less than the price, and what is asked is exactly what Stripe will report."""
    unit = step(currency)
    return (amount / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def to_minor(amount: Decimal, currency: str) -> int:
    """Stripe's integer `amount` for a chargeable amount (see `chargeable`)."""
    units = chargeable(amount, currency).scaleb(exponent(currency))
    return int(units)


def from_minor(units: int, currency: str) -> Decimal:
    """A Stripe integer amount (`amount_received`, ...) in the currency's units."""
    return Decimal(units).scaleb(-exponent(currency))
