"""Store lookups, readiness of payment methods, operator keys, and loading a store's configuration."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from ordergate import clock, security
from ordergate.audit.service import Actor
from ordergate.catalog.config import apply_config_products
from ordergate.errors import Forbidden, NotAvailable, NotFound, Unauthorized
from ordergate.payments.providers import PROVIDERS, Readiness
from ordergate.settings import Settings
from ordergate.stores import cache as _cache  # noqa: F401 (registers its flush hooks)
from ordergate.stores.models import OperatorKey, PaymentMethod, Policy, PolicyVersion, Store
from ordergate.stores.schemas import (
    DeliveryFieldOut,
    GuestCheckoutOut,
    PaymentMethodOut,
    PaymentMethodSettingsOut,
    PolicyOut,
    PolicySettingsOut,
    StoreConfig,
    StoreOut,
    StoreSettingsOut,
)


async def get_store(session: AsyncSession, slug: str) -> Store:
    """The store with its policies, payment methods and approved bundles loaded."""
    # One statement: a store has a handful of policies and methods, so the join stays small; its
    # approved bundles (any number) in a second. The store cache makes this once per change.
    result = await session.execute(
        select(Store)
        .where(Store.slug == slug)
        .options(joinedload(Store.policies), joinedload(Store.payment_methods), selectinload(Store.offers))
    )
    store = result.unique().scalar_one_or_none()
    if store is None:
        raise NotFound("No store with this name", field="store")
    return store


def method_readiness(method: PaymentMethod, *, settings: Settings) -> Readiness:
    if not method.enabled:
        return Readiness(False, "disabled")
    provider = PROVIDERS.get(method.kind)
    if provider is None:
        return Readiness(False, "unknown_kind")
    return provider.readiness(method, settings)


def require_ready(method: PaymentMethod, *, settings: Settings) -> None:
    """409 unless `method` can take a payment now (enabled, configured, its provider reachable)."""
    readiness = method_readiness(method, settings=settings)
    if not readiness.ready:
        raise NotAvailable(
            f"Payment method {method.key} is not ready ({readiness.reason})", field="payment_method"
        )


def payment_window(store: Store, method: PaymentMethod, settings: Settings) -> int:
    """Seconds a buyer has to pay with `method`: its own window, else the store's, else the default."""
    return method.payment_window_seconds or store.payment_window_seconds or settings.payment_window_seconds


def ready_methods(store: Store, *, settings: Settings) -> list[PaymentMethod]:
    return [m for m in store.payment_methods if method_readiness(m, settings=settings).ready]


def guest_checkout(
    store: Store, *, settings: Settings, ready: Sequence[PaymentMethod] | None = None
) -> GuestCheckoutOut:
    """Whether guests can check out; `ready` is the store's ready methods when the caller has them."""
    if not store.guest_checkout_enabled:
        return GuestCheckoutOut(available=False, reason="disabled")
    if store.account_required:
        return GuestCheckoutOut(available=False, reason="account_required")
    if not (ready if ready is not None else ready_methods(store, settings=settings)):
        return GuestCheckoutOut(available=False, reason="no_ready_payment_method")
    return GuestCheckoutOut(available=True)


def store_view(store: Store, *, settings: Settings) -> StoreOut:
    methods = []
    for m in store.payment_methods:
        readiness = method_readiness(m, settings=settings)
        provider = PROVIDERS.get(m.kind)
        methods.append(
            PaymentMethodOut(
                id=m.key,
                kind=m.kind,
                asset=provider.asset(m, store.currency) if provider else m.asset,
                label=m.label,
                ready=readiness.ready,
                reason=readiness.reason,
                required_confirmations=m.required_confirmations,
            )
        )
    return StoreOut(
        slug=store.slug,
        name=store.name,
        currency=store.currency,
        guest_checkout=guest_checkout(store, settings=settings),
        payment_methods=methods,
        policies=[
            PolicyOut(id=p.key, kind=p.kind, title=p.title, version=p.version, url=p.url, summary=p.summary)
            for p in store.policies
        ],
        delivery_fields=delivery_fields_view(store),
    )


def required_delivery_fields(store: Store, country: str | None) -> list[str]:
    """What this store needs for a delivery to `country`, in the store's order."""
    extra = (store.delivery_fields_by_country or {}).get(country or "", [])
    return list(store.delivery_fields) + [f for f in extra if f not in store.delivery_fields]


def delivery_field_names(store: Store) -> list[str]:
    """Every delivery field this store may ask for: the required ones, then those some countries
    need, then the optional ones."""
    names = list(store.delivery_fields)
    for _country, extra in sorted((store.delivery_fields_by_country or {}).items()):
        names += [name for name in extra if name not in names]
    names += [name for name in store.delivery_fields_optional or [] if name not in names]
    return names


def delivery_fields_view(store: Store) -> list[DeliveryFieldOut]:
    fields = [DeliveryFieldOut(name=f, required=True) for f in store.delivery_fields]
    by_field: dict[str, list[str]] = {}
    for country, names in sorted((store.delivery_fields_by_country or {}).items()):
        for name in names:
            if name not in store.delivery_fields:
                by_field.setdefault(name, []).append(country)
    fields += [
        DeliveryFieldOut(name=name, required=False, required_in=countries)
        for name, countries in by_field.items()
    ]
    shown = {f.name for f in fields}
    fields += [
        DeliveryFieldOut(name=name, required=False)
        for name in store.delivery_fields_optional or []
        if name not in shown
    ]
    return fields


SECRET_SETTING = ("secret", "key", "token", "password")


def _masked(settings: dict[str, object]) -> dict[str, object]:
    return {k: "•••" if any(word in k.lower() for word in SECRET_SETTING) else v for k, v in settings.items()}


def settings_view(store: Store, *, settings: Settings) -> StoreSettingsOut:
    public = store_view(store, settings=settings)
    methods = []
    for method, out in zip(store.payment_methods, public.payment_methods, strict=True):
        methods.append(
            PaymentMethodSettingsOut(
                **out.model_dump(),
                enabled=method.enabled,
                payment_window_seconds=payment_window(store, method, settings),
                settings=_masked(dict(method.config)),
            )
        )
    return StoreSettingsOut(
        slug=store.slug,
        name=store.name,
        currency=store.currency,
        locale=store.locale,
        guest_checkout=public.guest_checkout,
        guest_checkout_enabled=store.guest_checkout_enabled,
        account_required=store.account_required,
        shipping_flat=store.shipping_flat,
        checkout_ttl_seconds=store.checkout_ttl_seconds or settings.checkout_ttl_seconds,
        payment_window_seconds=store.payment_window_seconds or settings.payment_window_seconds,
        delivery_fields=public.delivery_fields,
        notification_channels=list(store.notification_channels or []),
        loyalty_points_per_unit=store.loyalty_points_per_unit,
        automatic_accounts=store.automatic_accounts,
        policies=[PolicySettingsOut(**p.model_dump()) for p in public.policies],
        payment_methods=methods,
        guest_checkout_note=store.guest_checkout_note or "",
    )


async def authenticate_operator(session: AsyncSession, store: Store, presented: str | None) -> OperatorKey:
    """The operator key presented for `store`: 401 when missing or wrong, 403 when it is another store's."""
    if not presented:
        raise Unauthorized("Send the store's API key as `Authorization: Bearer <key>`")
    row = await session.scalar(
        select(OperatorKey).where(
            OperatorKey.key_id == security.operator_key_id(presented), OperatorKey.revoked_at.is_(None)
        )
    )
    if row is None or not security.verify_operator_key(row.key_hash, presented):
        raise Unauthorized("This API key is not valid")
    if row.store_id != store.id:
        raise Forbidden()
    if security.operator_key_hash_outdated(row.key_hash, presented):
        row.key_hash = security.hash_operator_key(presented)  # argon2 from before: keyed hash from now on
    return row


async def add_operator_key(
    session: AsyncSession, store: Store, *, actor: Actor, key: str | None = None, label: str = ""
) -> str:
    """Store a new operator key (hashed) and return it; the plain key is never stored."""
    key = key or security.new_operator_key()
    key_id = security.operator_key_id(key)
    session.add(
        OperatorKey(store_id=store.id, key_id=key_id, key_hash=security.hash_operator_key(key), label=label)
    )
    await session.flush()
    await actor.record(
        session, store_id=store.id, action="key.create", target=key_id, detail={"label": label}
    )
    return key


async def has_operator_key(session: AsyncSession, store: Store, key: str | None = None) -> bool:
    stmt = select(OperatorKey).where(OperatorKey.store_id == store.id, OperatorKey.revoked_at.is_(None))
    if key is not None:
        stmt = stmt.where(OperatorKey.key_id == security.operator_key_id(key))
    rows = (await session.scalars(stmt)).all()
    if key is None:
        return bool(rows)
    return any(security.verify_operator_key(r.key_hash, key) for r in rows)


async def load_store_config(
    session: AsyncSession, config: StoreConfig, *, keep_settings: bool = False
) -> Store:
    """Create or update a store from its configuration; products keep their reserved counts.
    With `keep_settings` (`ordergate demo`), a store that exists keeps its settings as they are
    (console edits persist); only its products are loaded."""
    store = await session.scalar(
        select(Store)
        .where(Store.slug == config.slug)
        .options(selectinload(Store.policies), selectinload(Store.payment_methods))
    )
    if store is not None and keep_settings:
        await apply_config_products(session, store, config.products)
        await session.flush()
        return store
    if store is None:
        store = Store(slug=config.slug, created_at=clock.now(), policies=[], payment_methods=[])
        session.add(store)
    store.name = config.name
    store.currency = config.currency
    store.locale = config.locale
    store.guest_checkout_enabled = config.guest_checkout
    store.account_required = config.account_required
    store.shipping_flat = str(config.shipping_flat)
    store.checkout_ttl_seconds = config.checkout_ttl_seconds
    store.payment_window_seconds = config.payment_window_seconds
    store.delivery_fields = list(config.delivery_fields)
    store.delivery_fields_by_country = {k: list(v) for k, v in config.delivery_fields_by_country.items()}
    store.delivery_fields_optional = list(config.delivery_fields_optional)
    store.guest_checkout_note = config.guest_checkout_note
    store.notification_channels = list(config.notification_channels)
    store.loyalty_points_per_unit = str(config.loyalty_points_per_unit)
    store.automatic_accounts = config.automatic_accounts
    await session.flush()

    policies = {p.key: p for p in store.policies}
    for position, pc in enumerate(config.policies):
        policy = policies.pop(pc.id, None) or Policy(store_id=store.id, key=pc.id)
        policy.kind, policy.title, policy.version = pc.kind, pc.title, pc.version
        policy.url, policy.summary, policy.position = pc.url, pc.summary, position
        session.add(policy)
    for stale in policies.values():
        await session.delete(stale)
    await _keep_policy_versions(session, store, config)

    methods = {m.key: m for m in store.payment_methods}
    for position, mc in enumerate(config.payment_methods):
        method = methods.pop(mc.id, None) or PaymentMethod(store_id=store.id, key=mc.id)
        method.kind, method.label, method.enabled = mc.kind, mc.label, mc.enabled
        method.asset = mc.asset or ("SBX" if mc.kind == "sandbox" else config.currency)
        method.required_confirmations = mc.required_confirmations
        method.payment_window_seconds = mc.payment_window_seconds
        method.config, method.position = dict(mc.settings), position
        session.add(method)
    for stale_method in methods.values():
        stale_method.enabled = False

    await apply_config_products(session, store, config.products)
    await session.flush()
    return store


async def _keep_policy_versions(session: AsyncSession, store: Store, config: StoreConfig) -> None:
    """Each version the file names is kept as the file words it (the file is the author of its
    versions); versions the console made, and older ones, stay for the orders that accepted them."""
    kept = {
        (v.policy_key, v.version): v
        for v in await session.scalars(select(PolicyVersion).where(PolicyVersion.store_id == store.id))
    }
    for pc in config.policies:
        version = kept.get((pc.id, pc.version))
        if version is None:
            version = PolicyVersion(store_id=store.id, policy_key=pc.id, version=pc.version)
            version.created_by, version.created_at = "store file", clock.now()
            session.add(version)
        version.kind, version.title, version.url, version.summary = pc.kind, pc.title, pc.url, pc.summary


async def list_operator_keys(session: AsyncSession, store: Store) -> list[OperatorKey]:
    rows = await session.scalars(
        select(OperatorKey).where(OperatorKey.store_id == store.id).order_by(OperatorKey.created_at)
    )
    return list(rows)


async def revoke_operator_key(
    session: AsyncSession, store: Store, key_id: str, *, actor: Actor
) -> OperatorKey:
    row = await session.scalar(
        select(OperatorKey).where(OperatorKey.store_id == store.id, OperatorKey.key_id == key_id)
    )
    if row is None:
        raise NotFound(f"No key {key_id!r} in store {store.slug!r}", field="key_id")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await actor.record(session, store_id=store.id, action="key.revoke", target=key_id)
    await session.flush()
    return row
