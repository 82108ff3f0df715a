"""What goes with a cart: bought-together first (cosine over co-occurrence counts), then popular,
then similar by name and description. Two statements: the cart, then one ranking query."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ordergate import clock, money, security
from ordergate.catalog.models import Product
from ordergate.checkout.models import Checkout
from ordergate.checkout.pricing import bundle_saving
from ordergate.errors import CheckoutExpired, NotFound
from ordergate.orders.models import Order, OrderLine
from ordergate.recommendations.counts import COUNTED
from ordergate.recommendations.models import Bundle, ProductPair
from ordergate.recommendations.schemas import OfferOut, Reason, SuggestionList, SuggestionOut, bundle_label
from ordergate.stores.models import Store

# Candidates read per request: enough to fill a few suggestions after the similar-name pass.
CANDIDATES = 60
# Shrinks the cosine of pairs seen only a few times (co / (co + SHRINK)): one shared order between
# two rare products is not yet evidence.
SHRINK = 2.0
# How much a product's own popularity discounts its pairs: 0 ranks by raw co-occurrence (best-sellers
# crowd everything out), 0.5 is the cosine (rare products crowd in). On bench/recommendations.py's
# history, 0.3 keeps precision@3 near raw counts' (0.229 vs 0.238) with every planted pair in the top 3.
DAMPING = 0.3
# A signed-in buyer's past purchases seed suggestions at this weight beside the cart's items.
HISTORY_WEIGHT = 0.5
WORD = re.compile(r"[^\W\d_]{3,}")
STOPWORDS = frozenset({"and", "for", "the", "with", "pack", "set", "of"})


@dataclass(frozen=True)
class Cart:
    store_id: int
    currency: str
    skus: tuple[str, ...]


async def guest_cart(session: AsyncSession, store_slug: str, checkout_id: str) -> Cart:
    """The store and the checkout's cart in one statement (guest: an account's checkout is a 404)."""
    row = (
        await session.execute(
            select(Store.id, Store.currency, Checkout.items, Checkout.status, Checkout.expires_at)
            .select_from(Store)
            .outerjoin(
                Checkout,
                and_(
                    Checkout.store_id == Store.id,
                    Checkout.id_hash == security.hash_token(checkout_id),
                    Checkout.account_id.is_(None),
                ),
            )
            .where(Store.slug == store_slug)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No store with this name", field="store")
    store_id, currency, items, status, expires_at = row
    if status is None:
        raise NotFound("No such checkout", field="checkout")
    _refuse_expired(status, expires_at)
    return Cart(store_id, currency, tuple(str(i["sku"]) for i in items))


def _refuse_expired(status: str, expires_at: datetime) -> None:
    if status == "expired" or (status == "open" and expires_at <= clock.now()):
        raise CheckoutExpired("This checkout has expired; start a new one", field="checkout")


def checkout_cart(store: Store, checkout: Checkout) -> Cart:
    """A cart from a checkout already loaded (pages, accounts)."""
    _refuse_expired(checkout.status, checkout.expires_at)
    return Cart(store.id, store.currency, tuple(str(i["sku"]) for i in checkout.items))


def _words(*texts: str) -> set[str]:
    words = set()
    for text in texts:
        for word in WORD.findall(text.lower()):
            word = word[:-1] if word.endswith("s") and len(word) > 3 else word  # plural: lose the s
            if word not in STOPWORDS:
                words.add(word)
    return words


def _ranking_query(cart: Cart, *, account_id: int | None) -> object:
    cart_seeds = select(Product.id.label("seed"), literal(1.0).label("weight")).where(
        Product.store_id == cart.store_id, Product.sku.in_(cart.skus)
    )
    if account_id is None:
        seeds = cart_seeds.cte("seeds")
    else:
        history = (
            select(OrderLine.product_id.label("seed"), literal(HISTORY_WEIGHT).label("weight"))
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.store_id == cart.store_id,
                Order.account_id == account_id,
                Order.status.in_(COUNTED),
                OrderLine.product_id.is_not(None),
            )
            .distinct()
        )
        seeds = union_all(cart_seeds, history).cte("seeds")
    pair, seed_total, other_total = aliased(ProductPair), aliased(ProductPair), aliased(ProductPair)
    # co / (sqrt(n_seed) * n_other ** DAMPING), shrunk: a damped cosine (DAMPING 0.5 is the cosine).
    affinity = (
        pair.orders
        * 1.0
        / (func.sqrt(seed_total.orders * 1.0) * func.power(other_total.orders * 1.0, DAMPING))
        * pair.orders
        / (pair.orders + SHRINK)
    )
    together = (
        select(pair.other_id.label("product_id"), func.sum(seeds.c.weight * affinity).label("score"))
        .join(seeds, seeds.c.seed == pair.product_id)
        .join(
            seed_total,
            and_(seed_total.product_id == pair.product_id, seed_total.other_id == pair.product_id),
        )
        .join(
            other_total, and_(other_total.product_id == pair.other_id, other_total.other_id == pair.other_id)
        )
        .where(pair.other_id != pair.product_id, pair.orders > 0)
        .group_by(pair.other_id)
        .subquery("together")
    )
    popularity = aliased(ProductPair)
    offers = _offers(cart)
    in_cart: ColumnElement[int] = case((Product.sku.in_(cart.skus), 1), else_=0)
    score = func.coalesce(together.c.score, 0.0)
    orders = func.coalesce(popularity.orders, 0)
    percent = func.coalesce(offers.c.percent_off, 0)
    return (
        select(
            Product.sku,
            Product.name,
            Product.description,
            Product.price,
            in_cart,
            score,
            orders,
            Product.image_url,
            offers.c.bundle,
            offers.c.percent_off,
            offers.c.with_sku,
            offers.c.with_name,
        )
        .outerjoin(together, together.c.product_id == Product.id)
        .outerjoin(popularity, and_(popularity.product_id == Product.id, popularity.other_id == Product.id))
        .outerjoin(offers, offers.c.product_id == Product.id)
        .where(
            Product.store_id == cart.store_id,
            (in_cart == 1) | (Product.active & (Product.on_hand > Product.reserved)),
        )
        # The operator's approved offers first (larger first), then bought-together and popularity.
        .order_by(in_cart.desc(), percent.desc(), score.desc(), orders.desc(), Product.position, Product.id)
        .limit(CANDIDATES + len(cart.skus))
    )


def _offers(cart: Cart) -> Subquery:
    """Approved bundles whose A is in the cart, by B: the same for every buyer of this cart."""
    anchor = aliased(Product)
    return (
        select(
            Bundle.product_b_id.label("product_id"),
            Bundle.id.label("bundle"),
            Bundle.percent_off.label("percent_off"),
            anchor.sku.label("with_sku"),
            anchor.name.label("with_name"),
        )
        .join(anchor, anchor.id == Bundle.product_a_id)
        .where(Bundle.store_id == cart.store_id, Bundle.state == "approved", anchor.sku.in_(cart.skus))
        .subquery("offers")
    )


async def suggestions(
    session: AsyncSession, cart: Cart, *, limit: int = 3, account_id: int | None = None
) -> SuggestionList:
    """Up to `limit` products to offer with the cart: never one in it, never one out of stock.
    Read-only: it changes no price and reserves nothing."""
    rows = (await session.execute(_ranking_query(cart, account_id=account_id))).all()  # type: ignore[call-overload]
    images = {row[0]: row[7] for row in rows}
    offers: dict[str, OfferOut] = {}
    unique: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for row in rows:  # a product completing two bundles comes twice: the larger offer first
        if row[8] is not None and not row[4] and row[0] not in offers:
            offers[row[0]] = _offer(row, cart.currency)
        if row[0] not in seen:
            seen.add(row[0])
            unique.append(tuple(row[:7]))
    ranked = rank(unique, limit=limit, offered=set(offers))
    return SuggestionList(
        items=[
            SuggestionOut(
                sku=sku,
                name=name,
                description=description,
                price=money.text(price, cart.currency),
                currency=cart.currency,
                reason=reason,
                image_url=images.get(sku) or "",
                offer=offers.get(sku),
            )
            for sku, name, description, price, reason in ranked
        ]
    )


def _offer(row: Any, currency: str) -> OfferOut:
    _sku, name, _d, price, *_rest = row
    bundle, percent, with_sku, with_name = row[8:12]
    return OfferOut(
        bundle=bundle,
        with_sku=with_sku,
        with_name=with_name,
        percent_off=percent,
        saving=money.text(bundle_saving(price, 1, percent, currency), currency),
        label=bundle_label(with_name, name, percent),
    )


def rank(
    rows: Sequence[tuple[str, str, str, Decimal, int, float, int]],
    *,
    limit: int,
    offered: set[str] | frozenset[str] = frozenset(),
) -> list[tuple[str, str, str, Decimal, Reason]]:
    """Rows come in cart first, then the approved offers, then by bought-together score and
    popularity: keep that order for the offered, the scored and the popular, then fill with
    products sharing words with the cart. An offer completes a bundle made from bought-together
    counts, so it is `bought_together`."""
    cart_words = _words(
        *(f"{name} {description}" for _s, name, description, _p, in_cart, _x, _o in rows if in_cart)
    )
    picked: list[tuple[str, str, str, Decimal, Reason]] = []
    similar: list[tuple[int, int, tuple[str, str, str, Decimal, Reason]]] = []
    for sku, name, description, price, in_cart, score, orders in rows:
        if in_cart:
            continue
        if score > 0 or sku in offered:
            picked.append((sku, name, description, price, "bought_together"))
        elif orders > 0:
            picked.append((sku, name, description, price, "popular"))
        else:
            shared = len(cart_words & _words(name, description))
            if shared:
                similar.append((shared, len(similar), (sku, name, description, price, "similar")))
    similar.sort(key=lambda s: (-s[0], s[1]))
    picked.extend(entry for _shared, _n, entry in similar)
    return picked[:limit]


async def account_affinity(session: AsyncSession, store_id: int, account_id: int) -> dict[int, float]:
    """How strongly a signed-in buyer leans to each product: what they bought before (1.0) and what
    goes with it (its cosine with their purchases, at most 1.0 each). One statement; search adds a
    fraction of it to relevance, never admitting a product that does not match the words."""
    bought = (
        select(OrderLine.product_id.label("seed"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.store_id == store_id,
            Order.account_id == account_id,
            Order.status.in_(COUNTED),
            OrderLine.product_id.is_not(None),
        )
        .distinct()
        .cte("bought")
    )
    pair, seed_total, other_total = aliased(ProductPair), aliased(ProductPair), aliased(ProductPair)
    cosine = pair.orders * 1.0 / func.sqrt(seed_total.orders * 1.0 * other_total.orders)
    rows = (
        await session.execute(
            select(pair.other_id, func.max(case((pair.other_id == pair.product_id, 1.0), else_=cosine)))
            .join(bought, bought.c.seed == pair.product_id)
            .join(
                seed_total,
                and_(seed_total.product_id == pair.product_id, seed_total.other_id == pair.product_id),
            )
            .join(
                other_total,
                and_(other_total.product_id == pair.other_id, other_total.other_id == pair.other_id),
            )
            .where(pair.orders > 0)
            .group_by(pair.other_id)
        )
    ).all()
    return {int(product_id): min(float(score), 1.0) for product_id, score in rows}
