"""funnel milestones on checkouts, account link, period-report indexes, store settings for operations

Revision ID: 0006_analytics
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_analytics"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch_op:
        batch_op.add_column(
            sa.Column("delivery_fields_by_country", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("notification_channels", sa.JSON(), nullable=False, server_default='["email", "sms"]')
        )
        batch_op.add_column(
            sa.Column("loyalty_points_per_unit", sa.String(20), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("automatic_accounts", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("checkouts") as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_given_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("quoted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_checkouts_store_id_created_at", ["store_id", "created_at"])
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index("ix_orders_store_id_created_at", ["store_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_store_id_created_at")
    with op.batch_alter_table("checkouts") as batch_op:
        batch_op.drop_index("ix_checkouts_store_id_created_at")
        batch_op.drop_column("quoted_at")
        batch_op.drop_column("contact_given_at")
        batch_op.drop_column("account_id")
    with op.batch_alter_table("stores") as batch_op:
        for column in (
            "automatic_accounts",
            "loyalty_points_per_unit",
            "notification_channels",
            "delivery_fields_by_country",
        ):
            batch_op.drop_column(column)
