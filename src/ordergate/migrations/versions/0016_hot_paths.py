"""orders: a version bumped on every change (the tracking ETag) and the precomputed tracking document

Revision ID: 0016_hot_paths
Revises: 0001
Create Date: 2026-11-29 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_hot_paths"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("tracking", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tracking_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("tracking_until")
        batch_op.drop_column("tracking")
        batch_op.drop_column("version")
