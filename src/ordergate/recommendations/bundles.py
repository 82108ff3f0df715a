"""Bundle offers: proposed from the strongest bought-together pairs, approved (with their percent)
or retired by an operator. Approving or retiring changes prices, so it is store configuration: the
store cache drops its copies in every process (stores/cache.py), and the next quote or placement
prices with the change (checkout/pricing.py)."""

from __future__ import annotations

import math

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ordergate import clock, money
from ordergate.audit.service import Actor
from ordergate.catalog.models import Product
from ordergate.checkout.pricing import bundle_saving
from ordergate.errors import Conflict, NotFound
from ordergate.recommendations.models import Bundle, ProductPair
from ordergate.recommendations.schemas import BundleList, BundleOut, bundle_label
from ordergate.stores.models import Store

PROPOSED, APPROVED, RETIRED = "proposed", "approved", "retired"
STATES = (PROPOSED, APPROVED, RETIRED)
DEFAULT_PERCENT = 10
# Pairs read per proposal run, strongest counts first, before they are ranked by cosine.
CANDIDATES = 500


class BundleConflict(Conflict):
    type, title = "bundle-state", "The bundle cannot make this change"


def bundle_view(bundle: Bundle, a: Product, b: Product, currency: str) -> BundleOut:
    return BundleOut(
        id=bundle.id,
        sku_a=a.sku,
        name_a=a.name,
        sku_b=b.sku,
        name_b=b.name,
        price_b=money.text(b.price, currency),
        saving=money.text(bundle_saving(b.price, 1, bundle.percent_off, currency), currency),
        currency=currency,
        percent_off=bundle.percent_off,
        state=bundle.state,
        label=bundle_label(a.name, b.name, bundle.percent_off),
        support=bundle.support,
        approved_by=bundle.approved_by,
        approved_at=bundle.approved_at,
        retired_by=bundle.retired_by,
        retired_at=bundle.retired_at,
        created_at=bundle.created_at,
    )


def _with_products(store: Store) -> Select[Bundle, Product, Product]:
    a, b = aliased(Product), aliased(Product)
    return (
        select(Bundle, a, b)
        .join(a, a.id == Bundle.product_a_id)
        .join(b, b.id == Bundle.product_b_id)
        .where(Bundle.store_id == store.id)
    )


async def list_bundles(session: AsyncSession, store: Store, *, state: str | None = None) -> BundleList:
    """The store's bundles, proposals first, then approved, then retired; newest first in each."""
    stmt = _with_products(store)
    if state is not None:
        stmt = stmt.where(Bundle.state == state)
    rows = (await session.execute(stmt.order_by(Bundle.id.desc()))).all()
    order = {s: n for n, s in enumerate(STATES)}
    views = [bundle_view(bundle, a, b, store.currency) for bundle, a, b in rows]
    return BundleList(items=sorted(views, key=lambda v: order[v.state]))


async def get_bundle(
    session: AsyncSession, store: Store, bundle_id: int, *, lock: bool = False
) -> tuple[Bundle, Product, Product]:
    stmt = _with_products(store).where(Bundle.id == bundle_id)
    if lock:
        stmt = stmt.with_for_update(of=Bundle)
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound("No such bundle in this store", field="bundle")
    return row[0], row[1], row[2]


async def propose_bundles(
    session: AsyncSession, store: Store, *, min_orders: int, limit: int, actor: Actor
) -> BundleList:
    """New proposals from the store's strongest pairs: held together by at least `min_orders`
    counted orders, both products on sale and in stock, no bundle of the pair yet (in any state:
    a retired one is approved again, not proposed again). Ranked by cosine (co / sqrt(nA nB)), so
    two best-sellers do not win on volume alone. A is the one bought more often, B the add-on."""
    pair, total_a, total_b = aliased(ProductPair), aliased(ProductPair), aliased(ProductPair)
    a, b = aliased(Product), aliased(Product)
    rows = (
        await session.execute(
            select(a, b, pair.orders, total_a.orders, total_b.orders)
            .select_from(pair)
            .join(a, a.id == pair.product_id)
            .join(b, b.id == pair.other_id)
            .join(total_a, and_(total_a.product_id == pair.product_id, total_a.other_id == pair.product_id))
            .join(total_b, and_(total_b.product_id == pair.other_id, total_b.other_id == pair.other_id))
            .where(
                pair.product_id < pair.other_id,
                pair.orders >= min_orders,
                a.store_id == store.id,
                b.store_id == store.id,
                a.active,
                b.active,
                a.on_hand > a.reserved,
                b.on_hand > b.reserved,
            )
            .order_by(pair.orders.desc(), pair.product_id, pair.other_id)
            .limit(CANDIDATES)
        )
    ).all()
    existing = {
        frozenset(ids)
        for ids in (
            await session.execute(
                select(Bundle.product_a_id, Bundle.product_b_id).where(Bundle.store_id == store.id)
            )
        ).all()
    }
    ranked = sorted(
        (row for row in rows if frozenset((row[0].id, row[1].id)) not in existing),
        key=lambda r: (-r[2] / math.sqrt(r[3] * r[4]), -r[2], r[0].id, r[1].id),
    )
    now = clock.now()
    made: list[tuple[Bundle, Product, Product]] = []
    for first, second, together, n_first, n_second in ranked[:limit]:
        anchor, addon = (first, second) if n_first >= n_second else (second, first)
        bundle = Bundle(
            store_id=store.id,
            product_a_id=anchor.id,
            product_b_id=addon.id,
            percent_off=DEFAULT_PERCENT,
            state=PROPOSED,
            support=together,
            created_at=now,
        )
        session.add(bundle)
        made.append((bundle, anchor, addon))
    await session.flush()
    if made:
        await actor.record(
            session,
            store_id=store.id,
            action="bundle.propose",
            target=",".join(str(bundle.id) for bundle, _a, _b in made),
            detail={"min_orders": min_orders, "proposed": len(made)},
        )
    return BundleList(items=[bundle_view(*m, store.currency) for m in made])


async def approve_bundle(
    session: AsyncSession, store: Store, bundle_id: int, *, percent_off: int | None, actor: Actor
) -> BundleOut:
    """Offer the bundle to every buyer from now on (at `percent_off`, or the percent it has). An
    approved bundle approved again with another percent changes its percent; a retired one is
    offered again. Both products must be on sale."""
    bundle, a, b = await get_bundle(session, store, bundle_id, lock=True)
    archived = [p.sku for p in (a, b) if not p.active]
    if archived:
        raise BundleConflict(
            f"{' and '.join(archived)} archived: restore it to offer this bundle",
            field="bundle",
        )
    bundle.percent_off = percent_off if percent_off is not None else bundle.percent_off
    bundle.state = APPROVED
    bundle.approved_by, bundle.approved_at = actor.label[:64], clock.now()
    bundle.retired_by = bundle.retired_at = None
    await session.flush()
    detail = {"sku_a": a.sku, "sku_b": b.sku, "percent_off": bundle.percent_off}
    await actor.record(
        session, store_id=store.id, action="bundle.approve", target=str(bundle.id), detail=detail
    )
    return bundle_view(bundle, a, b, store.currency)


async def retire_bundle(session: AsyncSession, store: Store, bundle_id: int, *, actor: Actor) -> BundleOut:
    """Stop offering (or decline) the bundle: from the next quote or placement, it prices nothing.
    Orders already placed keep the discount they were given."""
    bundle, a, b = await get_bundle(session, store, bundle_id, lock=True)
    if bundle.state == RETIRED:
        raise BundleConflict("This bundle is already retired", field="bundle")
    was = bundle.state
    bundle.state = RETIRED
    bundle.retired_by, bundle.retired_at = actor.label[:64], clock.now()
    await session.flush()
    detail = {"sku_a": a.sku, "sku_b": b.sku, "was": was}
    await actor.record(
        session, store_id=store.id, action="bundle.retire", target=str(bundle.id), detail=detail
    )
    return bundle_view(bundle, a, b, store.currency)
