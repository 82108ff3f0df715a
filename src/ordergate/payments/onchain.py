"""On-chain, watch-only: a fresh BIP84 (or descriptor) address per instruction from the store's
public key, the amount from its rate source, payments observed through Esplora (payments.watch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money
from ordergate.errors import NotAvailable
from ordergate.payments.config import OnchainSettings, parsed_settings
from ordergate.payments.esplora import Esplora, EsploraError
from ordergate.payments.models import OnchainWallet
from ordergate.payments.protocol import InstructionDraft, OrderToPay, Readiness
from ordergate.payments.rates import current_rate, refresh_rate
from ordergate.payments.readiness import probed
from ordergate.payments.wallet import WatchOnlyWallet, bip21_uri
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("ordergate.payments")


def onchain_settings(config: Mapping[str, Any]) -> OnchainSettings | str:
    parsed = parsed_settings("onchain", config)
    return parsed if isinstance(parsed, OnchainSettings) else str(parsed)


@dataclass(frozen=True)
class Allocation:
    wallet_id: int
    index: int
    unused: int  # addresses handed out since the last one that received a payment


async def allocate_address(session: AsyncSession, wallet: WatchOnlyWallet, *, start_index: int) -> Allocation:
    """The next never-used receive index of `wallet`: one guarded UPDATE, so two orders placed at
    the same moment can never get the same address."""
    wallet_id = await session.scalar(
        select(OnchainWallet.id).where(OnchainWallet.fingerprint == wallet.fingerprint)
    )
    if wallet_id is None:
        try:
            async with session.begin_nested():
                row = OnchainWallet(
                    fingerprint=wallet.fingerprint,
                    label=wallet.label,
                    next_index=start_index,
                    created_at=clock.now(),
                )
                session.add(row)
            wallet_id = row.id
        except IntegrityError:  # another order created it first
            wallet_id = await session.scalar(
                select(OnchainWallet.id).where(OnchainWallet.fingerprint == wallet.fingerprint)
            )
    assert wallet_id is not None
    base = case((OnchainWallet.next_index < start_index, start_index), else_=OnchainWallet.next_index)
    result = await session.execute(
        update(OnchainWallet)
        .where(OnchainWallet.id == wallet_id)
        .values(next_index=base + 1)
        .returning(OnchainWallet.next_index, OnchainWallet.last_used_index)
        .execution_options(synchronize_session=False)
    )
    next_index, last_used = result.one()
    index = int(next_index) - 1
    floor = start_index if last_used is None else max(int(last_used) + 1, start_index)
    return Allocation(wallet_id, index, unused=next_index - floor)


def _amount_text(amount: Decimal) -> str:
    text = format(amount.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


class OnchainProvider:
    kind = "onchain"
    remote = False

    def asset(self, method: PaymentMethod, currency: str) -> str:
        cfg = onchain_settings(method.config)
        return cfg.wallet().asset if isinstance(cfg, OnchainSettings) else "BTC"

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        cfg = onchain_settings(method.config)
        if not isinstance(cfg, OnchainSettings):
            return Readiness(False, f"invalid_setting:{cfg}")
        probe = probed(self, method)
        if not probe.ready:
            return probe
        if current_rate(cfg) is None:
            return Readiness(False, "rate_unavailable")
        return Readiness(True)

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal:
        cfg = onchain_settings(method.config)
        if not isinstance(cfg, OnchainSettings):
            raise NotAvailable(
                f"Payment method {method.key} is misconfigured ({cfg})", field="payment_method"
            )
        quote = current_rate(cfg)
        if quote is None:
            raise NotAvailable(f"No current exchange rate for {method.key}", field="payment_method")
        return money.convert(total, rate=quote.rate, asset=cfg.wallet().asset)

    async def instruction(
        self,
        session: AsyncSession,
        method: PaymentMethod,
        order: OrderToPay,
        *,
        settings: Settings,
        now: datetime,
        window: int,
    ) -> InstructionDraft:
        cfg = onchain_settings(method.config)
        if not isinstance(cfg, OnchainSettings):
            raise NotAvailable(
                f"Payment method {method.key} is misconfigured ({cfg})", field="payment_method"
            )
        quote = current_rate(cfg)
        if quote is None:
            raise NotAvailable(f"No current exchange rate for {method.key}", field="payment_method")
        wallet = cfg.wallet()
        amount = money.convert(order.total, rate=quote.rate, asset=wallet.asset)
        allocation = await allocate_address(session, wallet, start_index=cfg.start_index)
        if allocation.unused > cfg.gap_limit:
            # Wallets stop looking `gap_limit` unused addresses past the last used one: payments
            # beyond it are safe here but invisible in the store's wallet until it scans further.
            log.warning(
                "onchain_gap_limit_exceeded",
                method=method.key,
                wallet=wallet.label,
                unused=allocation.unused,
                gap_limit=cfg.gap_limit,
            )
        address = wallet.address(allocation.index)
        return InstructionDraft(
            asset=wallet.asset,
            amount=amount,
            destination=address,
            uri=bip21_uri(address, _amount_text(amount), label=order.number),
            required_confirmations=method.required_confirmations,
            expires_at=now + timedelta(seconds=window),
            rate=quote.rate,
            details={
                "network": wallet.network,
                "rate_source": quote.source,
                "rate_fetched_at": quote.fetched_at.isoformat(),
            },
            wallet_id=allocation.wallet_id,
            derivation_index=allocation.index,
        )

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        cfg = onchain_settings(config)
        if not isinstance(cfg, OnchainSettings):
            return Readiness(False, f"invalid_setting:{cfg}")
        try:
            await Esplora(cfg.esplora_url, http).tip_height()
        except EsploraError:
            return Readiness(False, "esplora_unreachable")
        if cfg.rate_url is not None:
            quote = await refresh_rate(cfg, http)
            if quote is None or clock.now() - quote.fetched_at > timedelta(seconds=cfg.rate_max_age_seconds):
                return Readiness(False, "rate_unavailable")
        return Readiness(True)
