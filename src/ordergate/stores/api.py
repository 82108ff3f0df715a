"""Store discovery (guest)."""

from __future__ import annotations

from fastapi import APIRouter

from ordergate.deps import AppSettings, CurrentStore
from ordergate.errors import NotFound, responses
from ordergate.stores.schemas import StoreOut
from ordergate.stores.service import store_view

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: store"])


@router.get("", response_model=StoreOut, responses=responses(NotFound))
async def get_store(store: CurrentStore, settings: AppSettings) -> StoreOut:
    return store_view(store, settings=settings)
