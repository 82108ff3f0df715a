"""Dependency aliases that name what a route needs: settings, the store, the store's operator (its
key, or the key as the actor of an audited action)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ordergate.audit.service import Actor
from ordergate.db import Session
from ordergate.settings import Settings
from ordergate.stores.cache import StoreCache
from ordergate.stores.models import OperatorKey, Store
from ordergate.stores.service import authenticate_operator, get_store


def client_address(request: Request) -> str:
    """The client as rate limits and the audit log see it: the socket peer, or the address a proxy
    named in ORDERGATE_TRUSTED_PROXIES forwarded (uvicorn puts it in the ASGI scope)."""
    return request.client.host if request.client else "unknown"


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


async def _key_actor(request: Request, key: StoreOperator) -> Actor:
    return Actor.for_key(key.key_id, client_address(request))


# The operator key as the actor of an audited action (the key is checked once: FastAPI caches it).
KeyActor = Annotated[Actor, Depends(_key_actor)]
