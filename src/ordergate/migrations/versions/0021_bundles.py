"""bundles: operator-approved offers on pairs of products, and the discounts orders record

Revision ID: 0021_bundles
Revises: 0016_hot_paths, 0019_recommendations
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0021_bundles"
# After the products' search (0019) and the stored tracking documents (0016), which are dropped below.
down_revision: str | tuple[str, ...] | None = ("0016_hot_paths", "0019_recommendations")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_a_id", sa.Integer(), nullable=False),
        sa.Column("product_b_id", sa.Integer(), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("support", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(length=64), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("percent_off BETWEEN 1 AND 90", name=op.f("ck_bundles_percent_off")),
        sa.CheckConstraint("state IN ('proposed', 'approved', 'retired')", name=op.f("ck_bundles_state")),
        sa.CheckConstraint("product_a_id <> product_b_id", name=op.f("ck_bundles_two_products")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_bundles_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_a_id"],
            ["products.id"],
            name=op.f("fk_bundles_product_a_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_b_id"],
            ["products.id"],
            name=op.f("fk_bundles_product_b_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundles")),
        sa.UniqueConstraint(
            "store_id",
            "product_a_id",
            "product_b_id",
            name=op.f("uq_bundles_store_id_product_a_id_product_b_id"),
        ),
    )
    op.create_index("ix_bundles_store_id_state", "bundles", ["store_id", "state"])
    money = ordergate.db.MoneyType(precision=28, scale=8)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount", money, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("discounts", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount", money, nullable=False, server_default="0"))
    # Stored tracking documents gain the discount fields when next rendered.
    op.execute("UPDATE orders SET tracking = NULL, tracking_until = NULL")


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("discount")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("discounts")
        batch_op.drop_column("discount")
    op.drop_index("ix_bundles_store_id_state", table_name="bundles")
    op.drop_table("bundles")
