"""recommendations: bought-together counts and their fold cursor, suggestion adds, product search indexes

Revision ID: 0019_recommendations
Revises: 0001
Create Date: 2026-11-29 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_recommendations"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Pairs of the orders that count as bought (recommendations/counts.py: COUNTED statuses; a basket
# of more than MAX_BASKET = 25 distinct products counts its single products only).
BACKFILL = """
INSERT INTO product_pairs (product_id, other_id, orders)
SELECT a.product_id, b.product_id, COUNT(DISTINCT a.order_id)
FROM order_lines a
JOIN order_lines b ON b.order_id = a.order_id
JOIN orders o ON o.id = a.order_id
WHERE o.status IN ('awaiting_payment', 'funded', 'shipped', 'completed')
  AND a.product_id IS NOT NULL AND b.product_id IS NOT NULL
  AND (a.product_id = b.product_id OR a.order_id IN (
    SELECT order_id FROM order_lines WHERE product_id IS NOT NULL
    GROUP BY order_id HAVING COUNT(DISTINCT product_id) <= 25))
GROUP BY a.product_id, b.product_id
"""

# PostgreSQL: the same expressions recommendations/search.py queries, so the indexes serve them.
PG_DOCUMENT = "to_tsvector('english', name || ' ' || sku || ' ' || description)"
PG_TRIGRAM = "(lower(name || ' ' || sku)) gin_trgm_ops"

SQLITE_SEARCH = [
    # External content: the index reads products' own columns; triggers keep it in step with every
    # write to products, whichever code (or migration, or import) makes it.
    "CREATE VIRTUAL TABLE product_search USING fts5("
    "name, sku, description, content='products', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER product_search_ai AFTER INSERT ON products BEGIN "
    "INSERT INTO product_search(rowid, name, sku, description) "
    "VALUES (new.id, new.name, new.sku, new.description); END",
    "CREATE TRIGGER product_search_ad AFTER DELETE ON products BEGIN "
    "INSERT INTO product_search(product_search, rowid, name, sku, description) "
    "VALUES ('delete', old.id, old.name, old.sku, old.description); END",
    "CREATE TRIGGER product_search_au AFTER UPDATE OF name, sku, description ON products BEGIN "
    "INSERT INTO product_search(product_search, rowid, name, sku, description) "
    "VALUES ('delete', old.id, old.name, old.sku, old.description); "
    "INSERT INTO product_search(rowid, name, sku, description) "
    "VALUES (new.id, new.name, new.sku, new.description); END",
    "INSERT INTO product_search(product_search) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_table(
        "product_pairs",
        sa.Column("product_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("other_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_pairs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_id"], ["products.id"], name=op.f("fk_product_pairs_other_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("product_id", "other_id", name=op.f("pk_product_pairs")),
    )
    op.create_table(
        "suggestion_adds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("checkout_hash", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_suggestion_adds_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_adds")),
    )
    op.create_index("ix_suggestion_adds_checkout_hash", "suggestion_adds", ["checkout_hash"])
    op.create_index("ix_suggestion_adds_store_id_created_at", "suggestion_adds", ["store_id", "created_at"])

    op.create_table(
        "recommendation_cursor",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_cursor")),
    )
    # The pairs of orders placed so far, by their status now; the worker folds later events in.
    op.execute(BACKFILL)
    op.execute(
        "INSERT INTO recommendation_cursor (id, last_event_id) "
        "SELECT 1, COALESCE(MAX(id), 0) FROM order_events"
    )  # orders placed before this migration count too

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_products_search_document ON products USING gin ({PG_DOCUMENT})")
        op.execute(f"CREATE INDEX ix_products_search_trigram ON products USING gin ({PG_TRIGRAM})")
    elif _sqlite_has_trigram_fts():
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    # else: an SQLite built without FTS5 or older than 3.34; search ranks in Python (search.py).


def _sqlite_has_trigram_fts() -> bool:
    bind = op.get_bind()
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x, tokenize='trigram')")
    except sa.exc.OperationalError:
        return False
    bind.exec_driver_sql("DROP TABLE temp.fts_probe")
    return True


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_products_search_trigram")
        op.execute("DROP INDEX IF EXISTS ix_products_search_document")
    else:
        for name in ("product_search_au", "product_search_ad", "product_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS product_search")
    op.drop_table("recommendation_cursor")
    op.drop_table("suggestion_adds")
    op.drop_table("product_pairs")
