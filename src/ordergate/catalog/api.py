"""Product listing (guest)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ordergate.catalog.schemas import ProductList
from ordergate.catalog.service import list_products
from ordergate.db import Session
from ordergate.deps import CurrentStore
from ordergate.errors import NotFound, responses
from ordergate.recommendations.search import product_list

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: store"])


@router.get("/products", response_model=ProductList, responses=responses(NotFound))
async def get_products(
    session: Session,
    store: CurrentStore,
    q: Annotated[str | None, Query(max_length=200, description="Rank by relevance to these words")] = None,
) -> ProductList:
    if q and q.strip():
        return await product_list(session, store, q)
    return await list_products(session, store)
