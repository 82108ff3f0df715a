"""What the operator sees of payments: each method's readiness and warnings (the on-chain gap
limit among them), and the provider callbacks received for the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.errors import Unprocessable
from ordergate.orders.models import Order
from ordergate.payments.config import OnchainSettings, settings_errors
from ordergate.payments.models import OnchainWallet, PaymentWebhookEvent
from ordergate.payments.onchain import onchain_settings
from ordergate.payments.providers import PROVIDERS
from ordergate.payments.schemas import (
    PaymentEventListOut,
    PaymentEventOut,
    PaymentMethodStatusListOut,
    PaymentMethodStatusOut,
    WalletOut,
)
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import method_readiness

EVENT_STATUSES = ("received", "processed", "ignored", "unmatched", "failed", "invalid")


async def _wallet(session: AsyncSession, method: PaymentMethod, warnings: list[str]) -> WalletOut | None:
    cfg = onchain_settings(method.config)
    if not isinstance(cfg, OnchainSettings):
        return None
    wallet = cfg.wallet()
    row = await session.scalar(select(OnchainWallet).where(OnchainWallet.fingerprint == wallet.fingerprint))
    next_index = row.next_index if row else cfg.start_index
    last_used = row.last_used_index if row else None
    floor = cfg.start_index if last_used is None else max(last_used + 1, cfg.start_index)
    unused = max(next_index - floor, 0)
    if unused > cfg.gap_limit:
        warnings.append(
            f"{unused} addresses handed out since the last paid one, more than the gap limit of "
            f"{cfg.gap_limit}: raise your wallet's gap limit or it will not show payments to them"
        )
    return WalletOut(
        label=wallet.label,
        next_index=next_index,
        last_used_index=last_used,
        unused_addresses=unused,
        gap_limit=cfg.gap_limit,
    )


async def method_statuses(
    session: AsyncSession, store: Store, *, settings: Settings
) -> PaymentMethodStatusListOut:
    items = []
    for method in store.payment_methods:
        readiness = method_readiness(method, settings=settings)
        # Names of bad settings only: their values may be secrets.
        warnings = [
            f"settings.{key}: {message}" for key, message in settings_errors(method.kind, method.config)
        ]
        provider = PROVIDERS.get(method.kind)
        wallet = await _wallet(session, method, warnings) if method.kind == "onchain" else None
        items.append(
            PaymentMethodStatusOut(
                id=method.key,
                kind=method.kind,
                asset=provider.asset(method, store.currency) if provider else method.asset,
                enabled=method.enabled,
                ready=readiness.ready,
                reason=readiness.reason,
                warnings=warnings,
                wallet=wallet,
            )
        )
    return PaymentMethodStatusListOut(items=items)


async def callback_events(
    session: AsyncSession, store: Store, *, status: str | None, limit: int
) -> PaymentEventListOut:
    if status is not None and status not in EVENT_STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(EVENT_STATUSES)}", field="status")
    stmt = (
        select(PaymentWebhookEvent, Order.number)
        .outerjoin(Order, Order.id == PaymentWebhookEvent.order_id)
        .where(PaymentWebhookEvent.store_id == store.id)
        .order_by(PaymentWebhookEvent.received_at.desc(), PaymentWebhookEvent.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(PaymentWebhookEvent.status == status)
    rows = (await session.execute(stmt)).all()
    return PaymentEventListOut(
        items=[
            PaymentEventOut(
                provider=e.provider,
                event_id=e.event_id,
                event_type=e.event_type,
                method=e.method,
                provider_ref=e.provider_ref,
                order_number=number,
                status=e.status,
                detail=e.detail,
                attempts=e.attempts,
                received_at=e.received_at,
                processed_at=e.processed_at,
            )
            for e, number in rows
        ]
    )
