"""Product listing (guest)."""

from __future__ import annotations

from fastapi import APIRouter

from ordergate.catalog.schemas import ProductList
from ordergate.catalog.service import list_products
from ordergate.db import Session
from ordergate.deps import CurrentStore
from ordergate.errors import NotFound, responses

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: store"])


@router.get("/products", response_model=ProductList, responses=responses(NotFound))
async def get_products(session: Session, store: CurrentStore) -> ProductList:
    return await list_products(session, store)
