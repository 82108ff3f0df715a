"""Stripe for card payments: a PaymentIntent per instruction (its client secret goes to the
buyer's page), `payment_intent.succeeded` webhooks as evidence. Form-encoded API, Bearer key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.errors import NotAvailable
from ordergate.payments.config import StripeSettings, parsed_settings, secret_value
from ordergate.payments.protocol import (
    Evidence,
    InstructionDraft,
    OrderToPay,
    PendingInstruction,
    PreparedInstruction,
    ProviderEvent,
    ProviderUnavailable,
    Readiness,
)
from ordergate.payments.readiness import remote_readiness
from ordergate.settings import Settings
from ordergate.signing import check_timestamped
from ordergate.stores.models import PaymentMethod

SIGNATURE_HEADER = "stripe-signature"
# PaymentIntent statuses that close the instruction early.
STATUS_BY_EVENT = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.processing": "processing",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
    "payment_intent.requires_action": "requires_action",
}


def stripe_settings(config: Mapping[str, Any]) -> StripeSettings | str:
    parsed = parsed_settings("stripe", config)
    return parsed if isinstance(parsed, StripeSettings) else str(parsed)


def minor_units(amount: Decimal, currency: str) -> int:
    return int(money.quantize(amount, currency).scaleb(money.exponent(currency)))


class StripeProvider:
    kind = "stripe"
    remote = True

    def _headers(self, cfg: StripeSettings) -> dict[str, str]:
        key = secret_value(cfg.secret_key)
        if not key:
            raise ProviderUnavailable("The Stripe secret key is not set", field="payment_method")
        return {"Authorization": f"Bearer {key}"}

    def asset(self, method: PaymentMethod, currency: str) -> str:
        return currency

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        return remote_readiness(
            self, method, stripe_settings(method.config), StripeSettings, ("secret_key", "webhook_secret")
        )

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal:
        return money.quantize(total, currency)

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
        cfg = stripe_settings(method.config)
        if not isinstance(cfg, StripeSettings):
            raise NotAvailable(f"Payment method {method.key} is misconfigured", field="payment_method")
        # Pending: the PaymentIntent is created once this transaction has committed (payments.remote).
        return InstructionDraft(
            asset=order.currency,
            amount=money.quantize(order.total, order.currency),
            destination="",
            uri=None,
            required_confirmations=1,
            expires_at=now + timedelta(seconds=window),
            details={"preparing": True},
        )

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        cfg = stripe_settings(config)
        if not isinstance(cfg, StripeSettings):
            return Readiness(False, f"invalid_setting:{cfg}")
        try:
            response = await http.get(
                f"{cfg.api_url}/v1/payment_intents", params={"limit": 1}, headers=self._headers(cfg)
            )
        except (httpx.HTTPError, ProviderUnavailable):
            return Readiness(False, "stripe_unreachable")
        if response.status_code in (401, 403):
            return Readiness(False, "stripe_unauthorized")
        if response.status_code != 200:
            return Readiness(False, "stripe_unreachable")
        return Readiness(True)

    async def prepare(
        self, config: Mapping[str, Any], pending: PendingInstruction, http: httpx.AsyncClient
    ) -> PreparedInstruction:
        cfg = stripe_settings(config)
        if not isinstance(cfg, StripeSettings):
            raise ProviderUnavailable("The Stripe settings are not valid", field="payment_method")
        form = {
            "amount": str(minor_units(pending.total, pending.currency)),
            "currency": pending.currency.lower(),
            "automatic_payment_methods[enabled]": "true",
            "description": f"Order {pending.order_number}",
            "metadata[ordergate_order]": pending.order_number,
            "metadata[ordergate_store]": pending.store_slug,
            "metadata[ordergate_instruction]": str(pending.instruction_id),
        }
        headers = {
            **self._headers(cfg),
            # A retry after a lost answer gets the same PaymentIntent back, never a second one.
            "Idempotency-Key": "-".join(
                ("ordergate", pending.store_slug, pending.order_number, str(pending.instruction_id))
            ),
        }
        try:
            response = await http.post(f"{cfg.api_url}/v1/payment_intents", data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"Stripe could not be reached ({type(exc).__name__})", field="payment_method"
            ) from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"Stripe answered {response.status_code}", field="payment_method")
        try:
            intent = response.json()
            intent_id, client_secret = str(intent["id"]), str(intent["client_secret"])
        except (ValueError, KeyError, TypeError):
            raise ProviderUnavailable(
                "Stripe's PaymentIntent is incomplete", field="payment_method"
            ) from None
        details: dict[str, Any] = {"client_secret": client_secret}
        if cfg.publishable_key:
            details["publishable_key"] = cfg.publishable_key
        return PreparedInstruction(
            provider_ref=intent_id,
            asset=pending.currency,
            amount=money.quantize(pending.total, pending.currency),
            destination=intent_id,
            uri=None,
            status=str(intent.get("status") or "requires_payment_method"),
            details=details,
        )

    def verify_callback(
        self, config: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> bool:
        cfg = stripe_settings(config)
        secret = secret_value(cfg.webhook_secret) if isinstance(cfg, StripeSettings) else None
        header = headers.get(SIGNATURE_HEADER, "")
        if not secret or not header:
            return False
        return check_timestamped(secret, header, body, now=now) is None

    def parse_callback(self, body: bytes) -> ProviderEvent:
        data = json.loads(body, parse_float=Decimal)
        if not isinstance(data, dict) or data.get("object") != "event":
            raise ValueError("not a Stripe event")
        event_id, kind = data.get("id"), data.get("type")
        if not isinstance(event_id, str) or not isinstance(kind, str):
            raise ValueError("the event has no id or type")
        obj = (data.get("data") or {}).get("object")
        if not kind.startswith("payment_intent.") or not isinstance(obj, dict):
            return ProviderEvent(event_id=event_id, type=kind)  # stored, nothing to do
        intent_id = obj.get("id") if isinstance(obj.get("id"), str) else None
        metadata: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
        hint = str(metadata.get("ordergate_instruction") or "")
        base: dict[str, Any] = {
            "event_id": event_id,
            "type": kind,
            "provider_ref": intent_id,
            "instruction_hint": int(hint) if hint.isdigit() else None,
            "status": STATUS_BY_EVENT.get(kind),
        }
        if kind == "payment_intent.succeeded":
            currency = str(obj.get("currency") or "").upper()
            received = obj.get("amount_received")
            if not currency or not isinstance(received, int):
                raise ValueError("a succeeded PaymentIntent without amount_received or currency")
            evidence = Evidence(
                reference=str(intent_id),
                amount=Decimal(received).scaleb(-money.exponent(currency)),
                confirmations=1,
                asset=currency,
            )
            return ProviderEvent(**base, evidence=(evidence,))
        return ProviderEvent(**base)
