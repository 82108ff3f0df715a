"""The operator's catalog routes (store key): products, their stock and its ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ordergate.catalog import admin
from ordergate.catalog.admin_schemas import (
    AdminProductList,
    AdminProductOut,
    MovementList,
    ProductIn,
    ProductPatch,
    StockIn,
)
from ordergate.db import Session
from ordergate.deps import CurrentStore, KeyActor, StoreOperator
from ordergate.errors import Forbidden, NotFound, Unauthorized, responses

router = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator: catalog"])

SkuPath = Annotated[str, Path(max_length=64)]
OPERATOR_ERRORS = (Unauthorized, Forbidden, NotFound)


@router.get("/products", response_model=AdminProductList, responses=responses(*OPERATOR_ERRORS))
async def list_products(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    status: Annotated[str | None, Query(max_length=16, description="active or archived")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Words of the SKU or name")] = None,
    low: Annotated[
        bool, Query(description="Only active products at or below their low-stock threshold")
    ] = False,
) -> AdminProductList:
    return await admin.list_admin_products(session, store, status=status, q=q, low=low)


@router.post(
    "/products",
    status_code=201,
    response_model=AdminProductOut,
    responses=responses(*OPERATOR_ERRORS, admin.SkuTaken),
)
async def create_product(
    session: Session, store: CurrentStore, actor: KeyActor, body: ProductIn
) -> AdminProductOut:
    product = await admin.create_product(session, store, body, actor=actor)
    return admin.product_view(product, store)


@router.get("/products/{sku}", response_model=AdminProductOut, responses=responses(*OPERATOR_ERRORS))
async def get_product(
    session: Session, store: CurrentStore, _operator: StoreOperator, sku: SkuPath
) -> AdminProductOut:
    return admin.product_view(await admin.get_product(session, store, sku), store)


@router.patch("/products/{sku}", response_model=AdminProductOut, responses=responses(*OPERATOR_ERRORS))
async def update_product(
    session: Session, store: CurrentStore, actor: KeyActor, sku: SkuPath, body: ProductPatch
) -> AdminProductOut:
    """Edit name, price, description, image, low-stock threshold; `status: archived` takes the
    product off sale (past orders are unchanged), `active` restores it."""
    return admin.product_view(await admin.update_product(session, store, sku, body, actor=actor), store)


@router.post(
    "/products/{sku}/stock",
    response_model=AdminProductOut,
    responses=responses(*OPERATOR_ERRORS, admin.StockConflict),
)
async def change_stock(
    session: Session, store: CurrentStore, actor: KeyActor, sku: SkuPath, body: StockIn
) -> AdminProductOut:
    product = await admin.set_stock(session, store, sku, body, actor=actor)
    return admin.product_view(product, store)


@router.get("/products/{sku}/stock", response_model=MovementList, responses=responses(*OPERATOR_ERRORS))
async def stock_movements(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    sku: SkuPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> MovementList:
    return await admin.movements(session, store, sku, limit=limit)
