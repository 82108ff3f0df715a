"""staff and audit: the audit log, staff members, console sessions opened by staff, longer actors

Revision ID: 0018_staff_audit
Revises: 0008_console, 0017_catalog_admin
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_staff_audit"
down_revision: str | Sequence[str] | None = ("0008_console", "0017_catalog_admin")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("actor_kind", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_audit_entries_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_store_id_id", "audit_entries", ["store_id", "id"], unique=False)
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("refund_limit", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_staff_members_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_members")),
        sa.UniqueConstraint("store_id", "email", name=op.f("uq_staff_members_store_id_email")),
    )
    op.create_index(op.f("ix_staff_members_store_id"), "staff_members", ["store_id"], unique=False)
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.alter_column("operator_key_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_console_sessions_staff_id_staff_members"),
            "staff_members",
            ["staff_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_console_sessions_staff_id"), ["staff_id"], unique=False)
    # A staff member's email names them in order events and stock movements. SQLite does not
    # enforce VARCHAR lengths, so only PostgreSQL needs the wider columns.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("order_events", "actor", type_=sa.String(length=320), existing_nullable=False)
        op.alter_column("stock_movements", "actor", type_=sa.String(length=320), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("stock_movements", "actor", type_=sa.String(length=64), existing_nullable=False)
        op.alter_column("order_events", "actor", type_=sa.String(length=32), existing_nullable=False)
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_staff_id"))
        batch_op.drop_constraint(batch_op.f("fk_console_sessions_staff_id_staff_members"), type_="foreignkey")
        batch_op.drop_column("staff_id")
        batch_op.alter_column("operator_key_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_staff_members_store_id"), table_name="staff_members")
    op.drop_table("staff_members")
    op.drop_index("ix_audit_entries_store_id_id", table_name="audit_entries")
    op.drop_table("audit_entries")
