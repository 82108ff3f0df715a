"""Store discovery (guest)."""

from __future__ import annotations

from fastapi import APIRouter

from ordergate.deps import AppSettings, CurrentStore, StoreOperator
from ordergate.errors import Forbidden, NotFound, Unauthorized, responses
from ordergate.stores.schemas import StoreOut, StoreSettingsOut
from ordergate.stores.service import settings_view, store_view

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: store"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])


@router.get("", response_model=StoreOut, responses=responses(NotFound))
async def get_store(store: CurrentStore, settings: AppSettings) -> StoreOut:
    return store_view(store, settings=settings)


@operator.get(
    "/settings", response_model=StoreSettingsOut, responses=responses(Unauthorized, Forbidden, NotFound)
)
async def get_settings(
    store: CurrentStore, settings: AppSettings, _operator: StoreOperator
) -> StoreSettingsOut:
    """The store's settings as loaded from its file (`ordergate stores load`); secrets are masked."""
    return settings_view(store, settings=settings)
