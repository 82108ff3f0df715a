"""Money as Decimal, quantised per currency or asset; formatting for people."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal

# Assets that are not ISO 4217 currencies, with their smallest unit's exponent.
ASSET_EXPONENTS = {"SBX": 8, "BTC": 8, "TBTC": 8}
# The currencies whose fraction digits are not 2, from CLDR's supplemental currency data
# (supplementalData.xml <fractions>), as Babel 2.18 ships it: `get_currency_precision()` answers the
# same for every code (tests/test_units.py checks each one). Kept here because Babel reads that table
# from its global data file, some 2 MB of objects in every web process, for each price it rounds.
_FRACTION_DIGITS = {
    0: "ADP AFN ALL BIF BYR CLP DJF ESP GNF IQD IRR ISK ITL JPY KMF KPW KRW LAK LBP LUF MGA MGF MMK MRO PYG "
    "RSD RWF SLL SOS STD SYP TMM TRL UGX UYI VND VUV XAF XOF XPF YER ZMK ZWD",
    3: "BHD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
CURRENCY_EXPONENTS = {code: digits for digits, codes in _FRACTION_DIGITS.items() for code in codes.split()}
DEFAULT_EXPONENT = 2  # CLDR's DEFAULT fractions, for every other code


def exponent(code: str) -> int:
    code = code.upper()
    if code in ASSET_EXPONENTS:
        return ASSET_EXPONENTS[code]
    return CURRENCY_EXPONENTS.get(code, DEFAULT_EXPONENT)


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
    from babel.numbers import format_currency  # Babel and its locale data: on the first message or page

    return str(format_currency(amount, code, locale=locale))
