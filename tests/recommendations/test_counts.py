"""The arithmetic of keeping counts: any walk through the order state machine nets +1 exactly when
the order ends in a counted status, and a basket's pairs are symmetric with its diagonal."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from ordergate.orders.state import ALLOWED_MOVES
from ordergate.orders.status import OrderStatus
from ordergate.recommendations.counts import COUNTED, MAX_BASKET, basket_pairs, crossing


@st.composite
def walks(draw: st.DrawFn) -> list[tuple[str | None, str]]:
    """Placement (no status -> awaiting_payment), then any legal moves."""
    moves: list[tuple[str | None, str]] = [(None, OrderStatus.AWAITING_PAYMENT)]
    current = OrderStatus.AWAITING_PAYMENT
    for _ in range(draw(st.integers(0, 8))):
        options = sorted(to for (frm, to) in ALLOWED_MOVES if frm == current)
        if not options:
            break
        current = draw(st.sampled_from(options))
        moves.append((moves[-1][1], current))
    return moves


@given(walks())
def test_an_order_counts_once_while_placed_or_paid_and_never_after_expiry_or_cancellation(
    walk: list[tuple[str | None, str]],
) -> None:
    total = sum(crossing(frm, to) for frm, to in walk)
    assert total == (1 if walk[-1][1] in COUNTED else 0)
    running = 0
    for frm, to in walk:
        running += crossing(frm, to)
        assert running in (0, 1)


def test_every_status_is_either_counted_or_not() -> None:
    assert {s for s in OrderStatus if s in COUNTED} == {"awaiting_payment", "funded", "shipped", "completed"}


@given(st.lists(st.one_of(st.none(), st.integers(1, 60)), max_size=40))
def test_basket_pairs_are_symmetric_with_the_diagonal_and_capped(products: list[int | None]) -> None:
    pairs = basket_pairs(products)
    distinct = {p for p in products if p is not None}
    assert len(pairs) == len(set(pairs))
    assert {(a, a) for a in distinct} <= set(pairs)
    assert all((b, a) in set(pairs) for a, b in pairs)
    assert pairs == sorted(pairs)
    expected = len(distinct) if len(distinct) > MAX_BASKET else len(distinct) ** 2
    assert len(pairs) == expected
    assert Counter(a for a, _ in pairs).keys() == distinct
