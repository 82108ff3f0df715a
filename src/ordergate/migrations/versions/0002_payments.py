"""payments: on-chain wallets, webhook inbox, provider references and coverage on instructions

Revision ID: 0002_payments
Revises: 0001
Create Date: 2026-11-22 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_payments"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onchain_wallets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("last_used_index", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onchain_wallets")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_onchain_wallets_fingerprint")),
    )
    op.create_table(
        "payment_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payment_webhook_events_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_payment_webhook_events_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_payment_webhook_events_provider_event_id")),
    )
    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_webhook_events_status_received_at", ["status", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_payment_webhook_events_store_id_status", ["store_id", "status"], unique=False
        )

    with op.batch_alter_table("payment_instructions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("provider_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("wallet_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("derivation_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_instructions_wallet_id_onchain_wallets"),
            "onchain_wallets",
            ["wallet_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_payment_instructions_wallet_id_derivation_index"),
            ["wallet_id", "derivation_index"],
        )
        batch_op.create_index(
            "ix_payment_instructions_kind_provider_ref", ["kind", "provider_ref"], unique=False
        )

    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.drop_column("dropped_at")

    with op.batch_alter_table("payment_instructions", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_instructions_kind_provider_ref")
        batch_op.drop_constraint(
            batch_op.f("uq_payment_instructions_wallet_id_derivation_index"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_payment_instructions_wallet_id_onchain_wallets"), type_="foreignkey"
        )
        batch_op.drop_column("checked_at")
        batch_op.drop_column("covered_at")
        batch_op.drop_column("derivation_index")
        batch_op.drop_column("wallet_id")
        batch_op.drop_column("provider_status")
        batch_op.drop_column("provider_ref")

    with op.batch_alter_table("payment_webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_webhook_events_store_id_status")
        batch_op.drop_index("ix_payment_webhook_events_status_received_at")

    op.drop_table("payment_webhook_events")
    op.drop_table("onchain_wallets")
