"""Cross-package reactions, wired once per process (make_sessionmaker calls install): the packages
that follow an order's moves and refunds register with Orders here, so Orders imports none of them."""

from __future__ import annotations

from ordergate.accounts.loyalty import follow_refunds as points_follow_refunds
from ordergate.accounts.moves import follow_order_move
from ordergate.orders.followers import follow_moves, follow_refunds


def install() -> None:
    """Idempotent: every process calls it before its first session."""
    follow_moves(follow_order_move)
    follow_refunds(points_follow_refunds)
