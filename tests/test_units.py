"""Pure logic: the state machine's table, money rounding, tokens and order numbers."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordergate import money, security
from ordergate.orders.state import ALLOWED_MOVES, can_move
from ordergate.orders.status import STATUSES

CONTRACT_MOVES = {
    ("awaiting_payment", "funded"),
    ("awaiting_payment", "expired"),
    ("awaiting_payment", "cancelled"),
    ("expired", "awaiting_payment"),
    ("funded", "shipped"),
    ("funded", "cancelled"),
    ("shipped", "completed"),
    # v1.1: everything paid was refunded
    ("funded", "refunded"),
    ("shipped", "refunded"),
    ("completed", "refunded"),
}


def test_state_machine_is_exactly_the_contract() -> None:
    assert set(ALLOWED_MOVES) == CONTRACT_MOVES
    for a in STATUSES:
        for b in STATUSES:
            assert can_move(a, b) == ((a, b) in CONTRACT_MOVES)
    assert not any(can_move("cancelled", s) or can_move("refunded", s) for s in STATUSES)
    assert [s for s in STATUSES if can_move("completed", s)] == ["refunded"]


def test_stock_effects_balance() -> None:
    # Every path from a reservation ends with the hold released or committed exactly once.
    assert ALLOWED_MOVES[("awaiting_payment", "funded")] == "commit"
    assert ALLOWED_MOVES[("awaiting_payment", "expired")] == "release"
    assert ALLOWED_MOVES[("awaiting_payment", "cancelled")] == "release"
    assert ALLOWED_MOVES[("expired", "awaiting_payment")] == "reserve"
    assert ALLOWED_MOVES[("funded", "cancelled")] == "return"


@given(
    st.decimals(min_value=0, max_value=10**9, places=2),
    st.decimals(min_value="0.01", max_value=10**6, places=2),
)
def test_conversion_never_undercharges(price: Decimal, rate: Decimal) -> None:
    amount = money.convert(price, rate=rate, asset="SBX")
    assert amount.as_tuple().exponent >= -8
    assert amount * rate >= price
    assert amount - Decimal("0.00000001") < price / rate


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False))
def test_quantize_follows_the_currency(value: Decimal) -> None:
    assert money.quantize(value, "EUR").as_tuple().exponent == -2
    assert money.quantize(value, "JPY").as_tuple().exponent == 0
    assert money.quantize(value, "BTC").as_tuple().exponent == -8


def test_currency_exponents_are_cldrs() -> None:
    """money's own table of fraction digits answers as Babel (CLDR's currency data) does, for every
    currency Babel knows, and unknown codes get CLDR's default (2)."""
    from babel.numbers import get_currency_precision, list_currencies

    codes = sorted(list_currencies())
    assert len(codes) > 250
    for code in codes:
        assert money.exponent(code) == get_currency_precision(code), code
        assert money.exponent(code.lower()) == get_currency_precision(code), code
    assert money.exponent("XYZ") == get_currency_precision("XYZ") == 2


def test_display_uses_the_locale() -> None:
    assert money.display(Decimal("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"
    assert money.display(Decimal("1234.5"), "EUR", "en_IE") == "€1,234.50"


def test_tokens_carry_enough_randomness() -> None:
    tokens = {security.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    sample = next(iter(tokens))
    assert len(sample) >= 32
    assert math.log2(64) * len(sample) >= 128
    assert security.hash_token(sample) != sample
    assert len(security.hash_token(sample)) == 64


def test_order_tokens_derive_from_the_checkout_and_the_placement_key() -> None:
    a, b = security.new_token(), security.new_token()
    token = security.order_token_for_checkout(a, "key-1")
    assert token == security.order_token_for_checkout(a, "key-1")  # the same placement again
    assert token != security.order_token_for_checkout(b, "key-1")
    assert token != security.order_token_for_checkout(a, "key-2")
    assert token != security.legacy_order_token_for_checkout(a)  # the checkout id alone gives nothing
    assert len(token) == 32
    assert security.order_token_for_checkout(a, None) != security.order_token_for_checkout(a, None)


def test_order_numbers_are_short_and_random() -> None:
    numbers = [security.new_order_number() for _ in range(2000)]
    assert len(set(numbers)) == 2000
    assert all(len(n) == 9 and n[4] == "-" for n in numbers)
    assert not set("".join(numbers)) & set("01ILOU")


def test_operator_keys_hash_and_verify() -> None:
    key = security.new_operator_key()
    stored = security.hash_operator_key(key)
    assert key not in stored
    assert stored.startswith("hmac-sha256$")  # random: a fast keyed hash
    assert security.verify_operator_key(stored, key)
    assert not security.verify_operator_key(stored, key + "x")
    assert not security.verify_operator_key(stored, key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert stored != security.hash_operator_key(key)  # salted
    chosen = "correct horse battery staple"  # set by hand: a person chose it, argon2 stays
    by_hand = security.hash_operator_key(chosen)
    assert by_hand.startswith("$argon2id$")
    assert security.verify_operator_key(by_hand, chosen)
    assert not security.verify_operator_key(by_hand, chosen + "!")
    assert security.operator_key_id(key) == key.split("_")[1]


def test_the_runtime_check_finds_the_heads_alembic_finds() -> None:
    """`ordergate serve` checks the schema without importing alembic: its reading of the revision
    files must name the same heads as alembic's own."""
    from alembic.script import ScriptDirectory

    from ordergate.db import alembic_config, head_revisions

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert head_revisions() == frozenset(heads)
    assert len(heads) > 1  # the tree has branches: a merge or a new head is read the same way
