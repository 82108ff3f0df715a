"""Dependency aliases that name what a route needs: settings, the store, the store's operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ordergate.db import Session
from ordergate.settings import Settings
from ordergate.stores.cache import StoreCache
from ordergate.stores.models import OperatorKey, Store
from ordergate.stores.service import authenticate_operator, get_store


async def _settings(request: Request) -> Settings:
    # async: FastAPI runs a plain `def` dependency on a worker thread, a hop every request paid.
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


async def _store(request: Request, session: Session, store: Annotated[str, Path(max_length=64)]) -> Store:
    # Cached per process (stores.cache): a detached Store, never changed through this dependency.
    cache: StoreCache | None = getattr(request.app.state, "store_cache", None)
    return await get_store(session, store) if cache is None else await cache.get(session, store)


CurrentStore = Annotated[Store, Depends(_store)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _operator(request: Request, session: Session, store: CurrentStore) -> OperatorKey:
    return await authenticate_operator(session, store, bearer_token(request))


StoreOperator = Annotated[OperatorKey, Depends(_operator)]
