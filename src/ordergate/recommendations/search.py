"""Product search ranked by relevance, tolerant of plurals and small typos.

PostgreSQL: English full-text search (stems plurals) plus pg_trgm word similarity (typos), scored
in SQL. SQLite: an FTS5 trigram index finds candidates sharing trigrams with the words, then the
same trigram similarity pg_trgm uses ranks them here; without FTS5 every product is a candidate."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.catalog.models import Product
from ordergate.catalog.schemas import ProductList, ProductOut
from ordergate.stores.models import Store

WORD = re.compile(r"\w+")
# pg_trgm's default similarity threshold: below it two words are not the same word misspelt.
THRESHOLD = 0.3
CANDIDATES = 200
# How far a signed-in buyer's affinity (0..1) moves a product: less than one well-matched word.
AFFINITY_WEIGHT = 0.4
# SQLite without FTS5 ranks the whole catalog in Python, up to this many products.
FALLBACK_SCAN = 5000

PG_DOCUMENT = "to_tsvector('english', products.name || ' ' || products.sku || ' ' || products.description)"
PG_TRIGRAM = "lower(products.name || ' ' || products.sku)"


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float


def words(text_: str) -> list[str]:
    return [w for w in WORD.findall(text_.lower()) if w]


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def score_text(query_words: Sequence[str], name: str, sku: str, description: str) -> float:
    """Each query word's best match in the name and SKU (full weight) or description (half weight);
    words below the threshold add nothing. The sum over query words, so more matched words rank
    higher."""
    title = [*words(f"{name} {sku}"), sku.lower()]
    body = words(description)
    total = 0.0
    for q in query_words:
        best = max((similarity(q, w) for w in title), default=0.0)
        best = max(best, 0.5 * max((similarity(q, w) for w in body), default=0.0))
        if best >= THRESHOLD / 2:
            total += best
    return total


def _fts_query(query_words: Sequence[str]) -> str:
    """An FTS5 expression matching any trigram of any word (each quoted, so nothing is syntax)."""
    grams = set()
    for word in query_words:
        for i in range(max(len(word) - 2, 0)):
            grams.add(word[i : i + 3])
    return " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))


async def _sqlite_candidates(
    session: AsyncSession, store_id: int, query_words: Sequence[str]
) -> Sequence[Product]:
    match = _fts_query(query_words)
    base = select(Product).where(Product.store_id == store_id, Product.active)
    if match:
        index = table("product_search", column("rowid"))
        ranked = (
            base.join(index, index.c.rowid == Product.id)
            .where(text("product_search MATCH :match").bindparams(match=match))
            .order_by(text("bm25(product_search, 10.0, 10.0, 1.0)"))
            .limit(CANDIDATES)
        )
        try:
            return (await session.scalars(ranked)).all()
        except OperationalError as exc:
            if "product_search" not in str(exc):  # only a missing index means "no FTS5 here"
                raise
    # Words shorter than a trigram, or no FTS5: rank the catalog itself.
    return (await session.scalars(base.order_by(Product.position, Product.id).limit(FALLBACK_SCAN))).all()


async def _postgresql_hits(session: AsyncSession, store_id: int, query_words: Sequence[str]) -> list[Hit]:
    document: ColumnElement[Any] = literal_column(PG_DOCUMENT)
    title: ColumnElement[str] = literal_column(PG_TRIGRAM)
    # Any word may match (OR): one misspelt word must not hide the products the others find.
    tsquery = func.to_tsquery(
        "english", bindparam("terms", " | ".join(re.sub(r"\W", "", w) or "x" for w in query_words))
    )
    phrase: ColumnElement[str] = bindparam("phrase", " ".join(query_words))
    trigram = func.word_similarity(phrase, title)
    score = (func.ts_rank(document, tsquery) + trigram).cast(Float)
    rows = (
        await session.execute(
            select(Product, score)
            .where(
                Product.store_id == store_id,
                Product.active,
                document.op("@@")(tsquery) | (trigram >= THRESHOLD),
            )
            .order_by(score.desc(), Product.position, Product.id)
            .limit(CANDIDATES)
        )
    ).all()
    # The database admits (stems, trigrams); the ranking is the same as SQLite's, so both agree.
    return [Hit(p, max(score_text(query_words, p.name, p.sku, p.description), THRESHOLD)) for p, _s in rows]


async def search_products(
    session: AsyncSession,
    store_id: int,
    query: str,
    *,
    affinity: Mapping[int, float] | None = None,
) -> list[Hit]:
    """Active products of the store matching `query`, best first. `affinity` (product id -> bonus,
    from a signed-in buyer's past purchases) leans the order; it never admits a product that does
    not match."""
    query_words = words(query)[:12]
    if not query_words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        hits = await _postgresql_hits(session, store_id, query_words)
    else:
        candidates = await _sqlite_candidates(session, store_id, query_words)
        hits = [
            Hit(p, s)
            for p in candidates
            if (s := score_text(query_words, p.name, p.sku, p.description)) >= THRESHOLD
        ]
    bonus = affinity or {}
    # Equally relevant products keep the catalog's own order, as the storefront lists them.
    return sorted(
        hits,
        key=lambda h: (
            -round(h.score + AFFINITY_WEIGHT * bonus.get(h.product.id, 0.0), 6),
            h.product.position,
            h.product.id,
        ),
    )


async def product_list(
    session: AsyncSession, store: Store, query: str, *, affinity: Mapping[int, float] | None = None
) -> ProductList:
    """`GET .../products?q=`: the listing's shape, ranked by relevance."""
    hits = await search_products(session, store.id, query, affinity=affinity)
    return ProductList(
        items=[
            ProductOut(
                sku=h.product.sku,
                name=h.product.name,
                description=h.product.description,
                price=money.text(h.product.price, store.currency),
                currency=store.currency,
                available=h.product.available_quantity > 0,
                available_quantity=h.product.available_quantity,
            )
            for h in hits
        ]
    )
