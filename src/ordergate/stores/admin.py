"""Changing a store's settings (console and admin API): every change checked before any is made,
policies versioned, and each change listed (before and after) for the audit log.

The rows changed are Store, Policy and PaymentMethod, so the flush tells every web process to drop
its cached copy of the store (stores/cache.py): buyers see a change from the next request on."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.audit.service import Actor
from ordergate.errors import Conflict, FieldError, Unprocessable
from ordergate.payments.providers import PROVIDERS
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod, Policy, PolicyVersion, Store
from ordergate.stores.schemas import PolicyPatch, PolicyVersionOut, StoreSettingsOut, StoreSettingsPatch
from ordergate.stores.service import get_store, method_readiness, settings_view


@dataclass(frozen=True)
class SettingChange:
    """One setting changed: what the audit log records (never a secret)."""

    action: str  # settings.guest_checkout, settings.policy, ...
    target: str  # the setting, policy or payment method changed
    before: object
    after: object
    extra: dict[str, object] = field(default_factory=dict)  # a policy's wording before and after


async def policy_versions(session: AsyncSession, store: Store) -> dict[str, list[PolicyVersion]]:
    """Every version of each policy of `store`, newest first."""
    rows = await session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.store_id == store.id)
        .order_by(PolicyVersion.created_at.desc(), PolicyVersion.id.desc())
    )
    found: dict[str, list[PolicyVersion]] = {}
    for row in rows:
        found.setdefault(row.policy_key, []).append(row)
    return found


async def settings_document(session: AsyncSession, store: Store, *, settings: Settings) -> StoreSettingsOut:
    """The operator's view of the settings, with every version each policy has had."""
    view = settings_view(store, settings=settings)
    versions = await policy_versions(session, store)
    for policy in view.policies:
        policy.versions = [
            PolicyVersionOut(
                version=v.version,
                title=v.title,
                summary=v.summary,
                created_by=v.created_by,
                created_at=v.created_at,
            )
            for v in versions.get(policy.id, [])
        ]
    return view


def _loyalty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if value == 0 else text


def _delivery(store: Store, patch: StoreSettingsPatch) -> tuple[list[str], list[str]] | None:
    """The required and optional delivery fields after the patch (None: it changes neither). A field
    named in one list leaves the other unless the patch gives both lists, where naming one field
    in both is refused."""
    required_in, optional_in = patch.delivery_fields, patch.delivery_fields_optional
    if required_in is None and optional_in is None:
        return None
    if required_in is not None and optional_in is not None:
        both = [name for name in optional_in if name in required_in]
        if both:
            raise Unprocessable(
                f"{', '.join(both)}: a field is either required or optional, not both",
                field="delivery_fields_optional",
            )
    current_optional = list(store.delivery_fields_optional or [])
    required = list(dict.fromkeys(required_in if required_in is not None else store.delivery_fields))
    optional = list(dict.fromkeys(optional_in if optional_in is not None else current_optional))
    if required_in is None:
        required = [name for name in required if name not in optional]
    if optional_in is None:
        optional = [name for name in optional if name not in required]
    return required, optional


def _plain_changes(store: Store, patch: StoreSettingsPatch) -> list[tuple[str, str, object, object]]:
    """(action, column, before, after) of the store's own columns that the patch changes."""
    wanted: list[tuple[str, str, object]] = []
    if patch.guest_checkout_enabled is not None:
        wanted.append(("settings.guest_checkout", "guest_checkout_enabled", patch.guest_checkout_enabled))
    if patch.guest_checkout_note is not None:
        wanted.append(("settings.guest_checkout", "guest_checkout_note", patch.guest_checkout_note.strip()))
    delivery = _delivery(store, patch)
    if delivery is not None:
        wanted.append(("settings.delivery_fields", "delivery_fields", delivery[0]))
        wanted.append(("settings.delivery_fields", "delivery_fields_optional", delivery[1]))
    if patch.notification_channels is not None:
        channels = list(dict.fromkeys(patch.notification_channels))
        wanted.append(("settings.notification_channels", "notification_channels", channels))
    if patch.loyalty_points_per_unit is not None:
        wanted.append(
            ("settings.loyalty", "loyalty_points_per_unit", _loyalty(patch.loyalty_points_per_unit))
        )
    return [
        (action, column, getattr(store, column), after)
        for action, column, after in wanted
        if getattr(store, column) != after
    ]


def _method_changes(
    store: Store, patch: StoreSettingsPatch, settings: Settings
) -> list[tuple[PaymentMethod, bool]]:
    """(method, enabled) for each method the patch turns on or off; refuses turning off the last
    method buyers can pay with."""
    if not patch.payment_methods:
        return []
    methods = {m.key: m for m in store.payment_methods}
    unknown = [key for key in patch.payment_methods if key not in methods]
    if unknown:
        raise Unprocessable(
            "No such payment method in this store",
            errors=[
                FieldError(f"payment_methods.{key}", "no such payment method in this store")
                for key in unknown
            ],
        )
    changes = [
        (methods[key], wanted.enabled)
        for key, wanted in patch.payment_methods.items()
        if methods[key].enabled != wanted.enabled
    ]
    turned = dict(changes)

    def ready_after(method: PaymentMethod) -> bool:
        provider = PROVIDERS.get(method.kind)
        enabled = turned.get(method, method.enabled)
        return bool(enabled and provider is not None and provider.readiness(method, settings).ready)

    ready_now = [m for m in store.payment_methods if method_readiness(m, settings=settings).ready]
    if ready_now and not any(ready_after(m) for m in store.payment_methods):
        last = next(m for m, enabled in changes if not enabled)
        raise Conflict(
            f"{last.label} is the last payment method buyers can use: turn another one on first",
            field=f"payment_methods.{last.key}.enabled",
        )
    return changes


def _next_version(taken: set[str]) -> str:
    base = clock.now().date().isoformat()
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}.{n}"
    return name


def _policy_changes(
    store: Store, patch: StoreSettingsPatch, versions: dict[str, list[PolicyVersion]]
) -> list[tuple[Policy, PolicyPatch, str]]:
    """(policy, its new wording, the new version's name) for each policy the patch changes."""
    if not patch.policies:
        return []
    policies = {p.key: p for p in store.policies}
    unknown = [key for key in patch.policies if key not in policies]
    if unknown:
        raise Unprocessable(
            "No such policy in this store",
            errors=[FieldError(f"policies.{key}", "no such policy in this store") for key in unknown],
        )
    changes = []
    for key, wording in patch.policies.items():
        policy = policies[key]
        taken = {v.version for v in versions.get(key, [])} | {policy.version}
        new_text = (
            wording.title or policy.title,
            policy.summary if wording.summary is None else wording.summary,
        )
        if wording.version is not None and wording.version in taken:
            raise Conflict(
                f"{policy.title} has had a version {wording.version} already: name the new one differently",
                field=f"policies.{key}.version",
            )
        if wording.version is None and new_text == (policy.title, policy.summary):
            continue  # nothing new to accept
        changes.append((policy, wording, wording.version or _next_version(taken)))
    return changes


async def update_settings(
    session: AsyncSession, slug: str, patch: StoreSettingsPatch, *, settings: Settings, actor: Actor
) -> tuple[Store, list[SettingChange]]:
    """Apply `patch` to the store: everything is checked first, so a refused patch changes nothing.
    Each change is an audit row (before and after) in the same transaction. Returns the store and
    what changed."""
    store = await get_store(session, slug)  # this session's own rows: the cached copy is never changed
    versions = await policy_versions(session, store)
    plain = _plain_changes(store, patch)
    methods = _method_changes(store, patch, settings)
    policies = _policy_changes(store, patch, versions)

    changes: list[SettingChange] = []
    for action, column, before, after in plain:
        setattr(store, column, after)
        changes.append(SettingChange(action, column, before, after))
    for method, enabled in methods:
        method.enabled = enabled
        changes.append(SettingChange("settings.payment_method", method.key, not enabled, enabled))
    kept = {(key, v.version) for key, rows in versions.items() for v in rows}
    for policy, wording, version in policies:
        if (policy.key, policy.version) not in kept:
            _keep(session, store, policy, created_by="before settings")  # a version made before history
        was = {"title_before": policy.title, "text_before": policy.summary}
        old_version = policy.version
        policy.title = wording.title or policy.title
        policy.summary = policy.summary if wording.summary is None else wording.summary
        policy.version = version
        _keep(session, store, policy, created_by=actor.label)
        now = {"title": policy.title, "text": policy.summary}
        changes.append(SettingChange("settings.policy", policy.key, old_version, version, {**was, **now}))
    # Named now: a failed flush expires every row of the session.
    clash = f"policies.{policies[0][0].key}.version" if policies else "policies"
    try:
        await session.flush()
    except IntegrityError:  # another operator published the same version name a moment before
        raise Conflict(
            "Another change to this policy was saved at the same moment: reload and try again", field=clash
        ) from None
    for change in changes:
        detail = {"setting": change.target, "before": change.before, "after": change.after, **change.extra}
        await actor.record(
            session, store_id=store.id, action=change.action, target=change.target, detail=detail
        )
    return store, changes


def _keep(session: AsyncSession, store: Store, policy: Policy, *, created_by: str) -> None:
    session.add(
        PolicyVersion(
            store_id=store.id,
            policy_key=policy.key,
            version=policy.version,
            kind=policy.kind,
            title=policy.title,
            url=policy.url,
            summary=policy.summary,
            created_by=created_by,
            created_at=clock.now(),
        )
    )


async def policy_version(
    session: AsyncSession, store: Store, key: str, version: str
) -> dict[str, object] | None:
    """One earlier version of a policy as its page shows it (None: the store never had it)."""
    row = await session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.store_id == store.id,
            PolicyVersion.policy_key == key,
            PolicyVersion.version == version,
        )
    )
    if row is None:
        return None
    return {"key": key, "title": row.title, "version": row.version, "summary": row.summary, "url": row.url}
