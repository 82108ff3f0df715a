"""order intake: sources, raw payloads, issues, attempts, SKU mappings; external ids on orders

Revision ID: 0004_intake
Revises: 0001
Create Date: 2026-11-22 05:36:16.150643
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_intake"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("secret_env", sa.String(length=100), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("rule_owners", sa.JSON(), nullable=False),
        sa.Column("rule_severity", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_intake_sources_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_sources")),
        sa.UniqueConstraint("key", name=op.f("uq_intake_sources_key")),
    )
    with op.batch_alter_table("intake_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_sources_store_id"), ["store_id"], unique=False)

    op.create_table(
        "intake_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=True),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("corrected_body", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("event", sa.String(length=16), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["intake_payloads.id"],
            name=op.f("fk_intake_payloads_duplicate_of_id_intake_payloads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_intake_payloads_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["intake_sources.id"],
            name=op.f("fk_intake_payloads_source_id_intake_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_intake_payloads_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_payloads")),
        sa.UniqueConstraint("public_id", name=op.f("uq_intake_payloads_public_id")),
        sa.UniqueConstraint(
            "source_id", "delivery_id", name=op.f("uq_intake_payloads_source_id_delivery_id")
        ),
    )
    with op.batch_alter_table("intake_payloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_payloads_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_payloads_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_intake_payloads_source_id_external_id", ["source_id", "external_id"], unique=False
        )
        batch_op.create_index(
            "ix_intake_payloads_source_id_fingerprint", ["source_id", "fingerprint"], unique=False
        )
        batch_op.create_index("ix_intake_payloads_store_id_status", ["store_id", "status"], unique=False)

    op.create_table(
        "intake_sku_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_sku", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["intake_sources.id"],
            name=op.f("fk_intake_sku_mappings_source_id_intake_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_sku_mappings")),
        sa.UniqueConstraint(
            "source_id", "external_sku", name=op.f("uq_intake_sku_mappings_source_id_external_sku")
        ),
    )
    op.create_table(
        "intake_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payload_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payload_id"],
            ["intake_payloads.id"],
            name=op.f("fk_intake_attempts_payload_id_intake_payloads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_attempts")),
    )
    with op.batch_alter_table("intake_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_attempts_payload_id"), ["payload_id"], unique=False)

    op.create_table(
        "intake_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payload_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payload_id"],
            ["intake_payloads.id"],
            name=op.f("fk_intake_issues_payload_id_intake_payloads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_intake_issues_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_issues")),
    )
    with op.batch_alter_table("intake_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_issues_payload_id"), ["payload_id"], unique=False)
        batch_op.create_index("ix_intake_issues_store_id_rule", ["store_id", "rule"], unique=False)

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_sku", sa.String(length=128), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_orders_store_id_source_external_id"), ["store_id", "source", "external_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_orders_store_id_source_external_id"), type_="unique")
        batch_op.drop_column("external_id")

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("external_sku")

    with op.batch_alter_table("intake_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_issues_store_id_rule")
        batch_op.drop_index(batch_op.f("ix_intake_issues_payload_id"))

    op.drop_table("intake_issues")
    with op.batch_alter_table("intake_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_attempts_payload_id"))

    op.drop_table("intake_attempts")
    op.drop_table("intake_sku_mappings")
    with op.batch_alter_table("intake_payloads", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_payloads_store_id_status")
        batch_op.drop_index("ix_intake_payloads_source_id_fingerprint")
        batch_op.drop_index("ix_intake_payloads_source_id_external_id")
        batch_op.drop_index(batch_op.f("ix_intake_payloads_order_id"))
        batch_op.drop_index(batch_op.f("ix_intake_payloads_event_id"))

    op.drop_table("intake_payloads")
    with op.batch_alter_table("intake_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_sources_store_id"))

    op.drop_table("intake_sources")
