"""orders.refunded: what the order's accepted refunds give back (loyalty points follow the net)

Revision ID: 0023_order_refunded
Revises: 0017_catalog_admin
Create Date: 2026-11-29 22:50:00
"""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0023_order_refunded"
down_revision: str | None = "0017_catalog_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    money = ordergate.db.MoneyType(precision=28, scale=8)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded", money, nullable=False, server_default="0"))
    # Refunds accepted before this column existed: succeeded, recorded, or pending with the
    # provider's answer (summed in Python: SQLite keeps money as text).
    refunds = sa.table(
        "refunds",
        sa.column("order_id", sa.Integer()),
        sa.column("amount", money),
        sa.column("state", sa.String()),
        sa.column("provider_reference", sa.String()),
    )
    orders = sa.table("orders", sa.column("id", sa.Integer()), sa.column("refunded", money))
    bind = op.get_bind()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    rows = bind.execute(
        sa.select(refunds.c.order_id, refunds.c.amount, refunds.c.state, refunds.c.provider_reference)
    )
    for order_id, amount, state, reference in rows:
        if state in ("succeeded", "recorded") or (state == "pending" and reference is not None):
            totals[order_id] += Decimal(str(amount))
    for order_id, total in totals.items():
        bind.execute(sa.update(orders).where(orders.c.id == order_id).values(refunded=total))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("refunded")
