"""store settings: every version of each policy, optional delivery fields, the note shown when guest checkout is off

Revision ID: 0020_store_settings
Revises: 0006_analytics
Create Date: 2026-11-29 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_store_settings"
down_revision: str | None = "0006_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch_op:
        batch_op.add_column(
            sa.Column("delivery_fields_optional", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("guest_checkout_note", sa.String(300), nullable=False, server_default="")
        )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("policy_key", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=True),
        sa.Column("summary", sa.String(2000), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_policy_versions_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint(
            "store_id", "policy_key", "version", name=op.f("uq_policy_versions_store_id_policy_key_version")
        ),
    )
    # The versions in force now are the first ones kept.
    op.execute(
        "INSERT INTO policy_versions"
        " (store_id, policy_key, version, kind, title, url, summary, created_by, created_at)"
        " SELECT store_id, key, version, kind, title, url, summary, 'store file', CURRENT_TIMESTAMP"
        " FROM policies"
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
    with op.batch_alter_table("stores") as batch_op:
        batch_op.drop_column("guest_checkout_note")
        batch_op.drop_column("delivery_fields_optional")
