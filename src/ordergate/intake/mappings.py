"""SKU mappings: what a channel's SKU means in this store, set by the operator (then replay)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.audit.service import Actor
from ordergate.catalog.service import products_by_sku
from ordergate.errors import NotFound, Unprocessable
from ordergate.intake.models import SkuMapping
from ordergate.intake.schemas import SkuMappingIn, SkuMappingListOut, SkuMappingOut
from ordergate.intake.sources import store_source
from ordergate.sql import rowcount
from ordergate.stores.models import Store


def _mapping_out(m: SkuMapping) -> SkuMappingOut:
    return SkuMappingOut(external_sku=m.external_sku, sku=m.sku, origin=m.origin, updated_at=m.updated_at)


async def list_mappings(session: AsyncSession, store: Store, source_key: str) -> SkuMappingListOut:
    source = await store_source(session, store, source_key)
    rows = (
        await session.scalars(
            select(SkuMapping).where(SkuMapping.source_id == source.id).order_by(SkuMapping.external_sku)
        )
    ).all()
    return SkuMappingListOut(source=source.key, items=[_mapping_out(m) for m in rows])


async def put_mapping(
    session: AsyncSession, store: Store, source_key: str, data: SkuMappingIn, *, actor: Actor
) -> SkuMappingOut:
    """Say what an external SKU means here; replay the quarantined payloads afterwards."""
    source = await store_source(session, store, source_key)
    if data.sku not in await products_by_sku(session, store, [data.sku]):
        raise Unprocessable(f"no product {data.sku!r} in this store", field="sku")
    row = await session.scalar(
        select(SkuMapping).where(
            SkuMapping.source_id == source.id, SkuMapping.external_sku == data.external_sku
        )
    )
    if row is None:
        row = SkuMapping(source_id=source.id, external_sku=data.external_sku)
        session.add(row)
    row.sku, row.origin, row.updated_at = data.sku, "operator", clock.now()
    await session.flush()
    target = f"{source.key}:{data.external_sku}"
    await actor.record(
        session, store_id=store.id, action="intake.map_sku", target=target, detail={"sku": data.sku}
    )
    return _mapping_out(row)


async def delete_mapping(
    session: AsyncSession, store: Store, source_key: str, external_sku: str, *, actor: Actor
) -> None:
    source = await store_source(session, store, source_key)
    result = await session.execute(
        delete(SkuMapping).where(SkuMapping.source_id == source.id, SkuMapping.external_sku == external_sku)
    )
    if not rowcount(result):
        raise NotFound(f"No mapping for {external_sku!r}", field="external_sku")
    await actor.record(
        session, store_id=store.id, action="intake.unmap_sku", target=f"{source.key}:{external_sku}"
    )
