"""Stripe for card payments: a PaymentIntent per instruction (its client secret goes to the
buyer's page), `payment_intent.succeeded` webhooks as evidence. Form-encoded API, Bearer key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate import money
from ordergate.payments import stripe_amounts
from ordergate.payments.config import StripeSettings, secret_value
from ordergate.payments.protocol import (
    Evidence,
    PendingInstruction,
    PreparedInstruction,
    ProviderEvent,
    ProviderUnavailable,
    RefundUpdate,
)
from ordergate.payments.remote_base import RemoteProviderBase
from ordergate.signing import check_timestamped

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "stripe-signature"
# The API version every request is made with (and the shape events are read in), so a change of
# the account's default version in Stripe's dashboard changes nothing here. Its date is the one
# the official stripe-python SDK pinned in requirements.lock speaks (tests check they agree).
API_VERSION = "2026-10-28.endive"
# PaymentIntent statuses that close the instruction early.
STATUS_BY_EVENT = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.processing": "processing",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
    "payment_intent.requires_action": "requires_action",
}
# Stripe's refund statuses (API reference, "The Refund object": pending, requires_action,
# succeeded, failed, canceled) onto ours.
STRIPE_REFUND_STATES = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}
# Events whose data.object is a Refund ("Types of events": refund.created, refund.updated,
# refund.failed; charge.refund.updated is the older name of the update, still sent to endpoints
# that subscribe to it).
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})


def refund_update(obj: Mapping[str, Any]) -> RefundUpdate:
    """The RefundUpdate a Stripe Refund object says: its state, id, our refund id (metadata)."""
    status = str(obj.get("status") or "pending")
    state = STRIPE_REFUND_STATES.get(status, "pending")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ours = metadata.get("ordergate_refund") if isinstance(metadata, dict) else None
    reason = obj.get("failure_reason")
    return RefundUpdate(
        state=state,
        provider_reference=str(obj["id"]) if isinstance(obj.get("id"), str) else None,
        public_id=str(ours) if isinstance(ours, str) and ours else None,
        detail=f"Stripe: {str(reason)[:200]}" if state == "failed" and reason else None,
    )


def charge_amount(total: Decimal, currency: str) -> Decimal:
    """What the buyer is asked to pay by card: the price, as Stripe can charge it."""
    return money.quantize(stripe_amounts.chargeable(money.quantize(total, currency), currency), currency)


class StripeProvider(RemoteProviderBase[StripeSettings]):
    kind = "stripe"
    name = "Stripe"
    settings_type = StripeSettings
    secrets = ("secret_key", "webhook_secret")
    seals_details = True  # the PaymentIntent's client_secret

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Stripe-Version": API_VERSION}

    def amount_due(self, total: Decimal, currency: str) -> Decimal:
        return charge_amount(total, currency)

    def probe_url(self, cfg: StripeSettings) -> tuple[str, dict[str, Any]]:
        return f"{cfg.api_url}/v1/payment_intents", {"limit": 1}

    async def prepare(
        self, config: Mapping[str, Any], pending: PendingInstruction, http: httpx.AsyncClient
    ) -> PreparedInstruction:
        cfg = self._valid(config)
        form = {
            "amount": str(
                stripe_amounts.to_minor(charge_amount(pending.total, pending.currency), pending.currency)
            ),
            "currency": pending.currency.lower(),
            "automatic_payment_methods[enabled]": "true",
            "description": f"Order {pending.order_number}",
            "metadata[ordergate_order]": pending.order_number,
            "metadata[ordergate_store]": pending.store_slug,
            "metadata[ordergate_instruction]": str(pending.instruction_id),
        }
        headers = {
            **self.headers(cfg),
            # A retry after a lost answer gets the same PaymentIntent back, never a second one.
            "Idempotency-Key": "-".join(
                ("ordergate", pending.store_slug, pending.order_number, str(pending.instruction_id))
            ),
        }
        intent = await self.call(
            http.post(f"{cfg.api_url}/v1/payment_intents", data=form, headers=headers),
            "create the PaymentIntent",
            ok=(200,),
        )
        try:
            intent_id, client_secret = str(intent["id"]), str(intent["client_secret"])
        except (KeyError, TypeError):
            raise ProviderUnavailable(
                "Stripe's PaymentIntent is incomplete", field="payment_method"
            ) from None
        # The client secret completes the payment: only the buyer's own order page gets it
        # (docs.stripe.com/api/payment_intents/object#payment_intent_object-client_secret: "should
        # not be stored, logged, or exposed to anyone other than the customer"), so it is sealed.
        return PreparedInstruction(
            provider_ref=intent_id,
            asset=pending.currency,
            amount=charge_amount(pending.total, pending.currency),
            destination=intent_id,
            uri=None,
            status=str(intent.get("status") or "requires_payment_method"),
            details={"publishable_key": cfg.publishable_key},
            sealed={"client_secret": client_secret},
        )

    def verify_callback(
        self, config: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> bool:
        cfg = self.settings(config)
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
        if kind in REFUND_EVENTS and isinstance(obj, dict) and obj.get("object") == "refund":
            return ProviderEvent(event_id=event_id, type=kind, refund=refund_update(obj))
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
                amount=stripe_amounts.from_minor(received, currency),
                confirmations=1,
                asset=currency,
            )
            return ProviderEvent(**base, evidence=(evidence,))
        return ProviderEvent(**base)
