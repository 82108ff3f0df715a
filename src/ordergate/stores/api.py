"""Store discovery (guest), and the store's settings for its operator (read and change)."""

from __future__ import annotations

from fastapi import APIRouter

from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore, KeyActor, StoreOperator
from ordergate.errors import Conflict, Forbidden, NotFound, Unauthorized, responses
from ordergate.stores import admin
from ordergate.stores.schemas import StoreOut, StoreSettingsOut, StoreSettingsPatch
from ordergate.stores.service import store_view

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: store"])
operator = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])


@router.get("", response_model=StoreOut, responses=responses(NotFound))
async def get_store(store: CurrentStore, settings: AppSettings) -> StoreOut:
    return store_view(store, settings=settings)


@operator.get(
    "/settings", response_model=StoreSettingsOut, responses=responses(Unauthorized, Forbidden, NotFound)
)
async def get_settings(
    session: Session, store: CurrentStore, settings: AppSettings, _operator: StoreOperator
) -> StoreSettingsOut:
    """The store's settings, with every version of each policy; secrets are masked."""
    return await admin.settings_document(session, store, settings=settings)


@operator.patch(
    "/settings",
    response_model=StoreSettingsOut,
    responses=responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def change_settings(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    actor: KeyActor,
    body: StoreSettingsPatch,
) -> StoreSettingsOut:
    """Change any of: guest checkout (and the note buyers see while it is off), required and
    optional delivery fields, notification channels, the loyalty rule, payment methods on or off
    (`{"payment_methods": {"<id>": {"enabled": false}}}`), policies' wording
    (`{"policies": {"<id>": {"title"?, "summary"?, "version"?}}}`: a new version buyers must accept).
    Every web process serves the change from its next request."""
    changed, _changes = await admin.update_settings(session, store.slug, body, settings=settings, actor=actor)
    return await admin.settings_document(session, changed, settings=settings)
