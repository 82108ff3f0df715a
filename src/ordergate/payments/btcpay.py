"""BTCPay Server through its Greenfield API: an invoice per instruction, webhooks as evidence.

Invoice and payment statuses map onto ours like this:
- a payment (InvoiceReceivedPayment / InvoicePaymentSettled) is recorded as a transaction with 0
  confirmations while BTCPay calls it Processing and 1 once Settled (BTCPay applies the store's
  speed policy; the instruction asks for 1); `afterExpiration` (PaidLate) makes it late: recorded,
  flagged, never funding; an Invalid payment is not counted and flags the order;
- InvoiceProcessing: paid in full, awaiting confirmations (our `pending` with the amount received);
- InvoiceSettled: every payment seen is confirmed (funds the order); settled by hand (`Marked`)
  funds what is still due; settled while we saw less than the amount flags the order;
- InvoiceExpired closes the instruction (the order expires); PaidPartial flags the partial money;
- InvoiceInvalid closes it and flags the order; PaidOver shows up as an overpayment (flagged)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money
from ordergate.errors import NotAvailable
from ordergate.payments.config import BtcpaySettings, parsed_settings, secret_value
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
from ordergate.signing import hmac_hex, same
from ordergate.stores.models import PaymentMethod

SIGNATURE_HEADER = "btcpay-sig"
ONCHAIN_METHODS = ("BTC", "BTC-CHAIN", "BTC-OnChain")
SETTLED_PAYMENT = ("Settled", "Confirmed", "Complete")


def btcpay_settings(config: Mapping[str, Any]) -> BtcpaySettings | str:
    parsed = parsed_settings("btcpay", config)
    return parsed if isinstance(parsed, BtcpaySettings) else str(parsed)


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{what} is not a number")
    return number


class BtcpayProvider:
    kind = "btcpay"
    remote = True

    def _headers(self, cfg: BtcpaySettings) -> dict[str, str]:
        key = secret_value(cfg.api_key)
        if not key:
            raise ProviderUnavailable("The BTCPay API key is not set", field="payment_method")
        return {"Authorization": f"token {key}", "Accept": "application/json"}

    def asset(self, method: PaymentMethod, currency: str) -> str:
        return currency  # the invoice is priced in the store's currency; BTCPay quotes the bitcoin

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        return remote_readiness(
            self, method, btcpay_settings(method.config), BtcpaySettings, ("api_key", "webhook_secret")
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
        if not isinstance(btcpay_settings(method.config), BtcpaySettings):
            raise NotAvailable(f"Payment method {method.key} is misconfigured", field="payment_method")
        # Pending: the invoice is opened once this transaction has committed (payments.remote).
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
        cfg = btcpay_settings(config)
        if not isinstance(cfg, BtcpaySettings):
            return Readiness(False, f"invalid_setting:{cfg}")
        try:
            # Listing invoices needs the same permission the payment methods lookup does.
            response = await http.get(
                f"{cfg.url}/api/v1/stores/{cfg.store_id}/invoices",
                params={"take": 1},
                headers=self._headers(cfg),
            )
        except (httpx.HTTPError, ProviderUnavailable):
            return Readiness(False, "btcpay_unreachable")
        if response.status_code in (401, 403):
            return Readiness(False, "btcpay_unauthorized")
        if response.status_code == 404:
            return Readiness(False, "btcpay_store_not_found")
        if response.status_code != 200:
            return Readiness(False, "btcpay_unreachable")
        return Readiness(True)

    async def prepare(
        self, config: Mapping[str, Any], pending: PendingInstruction, http: httpx.AsyncClient
    ) -> PreparedInstruction:
        cfg = btcpay_settings(config)
        if not isinstance(cfg, BtcpaySettings):
            raise ProviderUnavailable("The BTCPay settings are not valid", field="payment_method")
        minutes = max(1, math.ceil((pending.expires_at - clock.now()).total_seconds() / 60))
        body: dict[str, Any] = {
            "amount": str(money.quantize(pending.total, pending.currency)),
            "currency": pending.currency,
            "metadata": {
                "orderId": pending.order_number,
                "itemDesc": f"Order {pending.order_number}",
                "ordergateInstruction": pending.instruction_id,
                "ordergateStore": pending.store_slug,
            },
            "checkout": {"expirationMinutes": minutes, "paymentMethods": [cfg.payment_method]},
        }
        if pending.return_url:
            body["checkout"]["redirectURL"] = pending.return_url
        base = f"{cfg.url}/api/v1/stores/{cfg.store_id}/invoices"
        invoice = await self._call(
            http.post(base, json=body, headers=self._headers(cfg)), "create the invoice"
        )
        invoice_id = str(invoice.get("id") or "")
        if not invoice_id:
            raise ProviderUnavailable("BTCPay's invoice has no id", field="payment_method")
        methods = await self._call(
            http.get(f"{base}/{invoice_id}/payment-methods", headers=self._headers(cfg)), "read the invoice"
        )
        chosen = _onchain_method(methods, cfg.payment_method)
        try:
            asset = str(chosen.get("cryptoCode") or chosen.get("currency") or "BTC").upper()
            if asset not in money.ASSET_EXPONENTS:
                raise ValueError(f"asset {asset} is not supported")
            due = chosen.get("due") or chosen.get("amount")
            amount = money.quantize(_decimal(due, "due"), asset)
            rate = _decimal(chosen["rate"], "rate") if chosen.get("rate") else None
            destination = str(chosen["destination"])
        except (KeyError, ValueError) as exc:
            raise ProviderUnavailable(
                f"BTCPay's payment method is incomplete ({exc})", field="payment_method"
            ) from None
        expires = invoice.get("expirationTime")
        return PreparedInstruction(
            provider_ref=invoice_id,
            asset=asset,
            amount=amount,
            destination=destination,
            uri=str(chosen.get("paymentLink") or "") or None,
            rate=rate,
            expires_at=datetime.fromtimestamp(int(expires), UTC)
            if isinstance(expires, int | float)
            else None,
            status=str(invoice.get("status") or "New"),
            details={"invoice_id": invoice_id, "checkout_link": invoice.get("checkoutLink")},
        )

    async def _call(self, request: Any, what: str) -> Any:
        try:
            response: httpx.Response = await request
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"BTCPay could not be reached to {what} ({type(exc).__name__})", field="payment_method"
            ) from None
        if response.status_code not in (200, 201):
            raise ProviderUnavailable(
                f"BTCPay answered {response.status_code} when asked to {what}", field="payment_method"
            )
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"BTCPay's answer to {what} is not JSON", field="payment_method"
            ) from None

    def verify_callback(
        self, config: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> bool:
        cfg = btcpay_settings(config)
        secret = secret_value(cfg.webhook_secret) if isinstance(cfg, BtcpaySettings) else None
        given = headers.get(SIGNATURE_HEADER, "")
        if not secret or not given.startswith("sha256="):
            return False
        return same(hmac_hex(secret, body), given.removeprefix("sha256=").strip().lower())

    def parse_callback(self, body: bytes) -> ProviderEvent:
        data = json.loads(body, parse_float=Decimal)
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise ValueError("not a BTCPay webhook event")
        event_id = data.get("originalDeliveryId") or data.get("deliveryId")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("the event has no deliveryId")
        kind: str = data["type"]
        invoice_id = data.get("invoiceId") if isinstance(data.get("invoiceId"), str) else None
        metadata: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
        hint = metadata.get("ordergateInstruction")
        base: dict[str, Any] = {
            "event_id": event_id,
            "type": kind,
            "provider_ref": invoice_id,
            "instruction_hint": int(hint) if isinstance(hint, int | str) and str(hint).isdigit() else None,
        }
        if kind in ("InvoiceReceivedPayment", "InvoicePaymentSettled"):
            payment = data.get("payment")
            if not isinstance(payment, dict) or not payment.get("id"):
                raise ValueError("a payment event without its payment")
            status = str(payment.get("status") or "Processing")
            method = str(data.get("paymentMethod") or "BTC")
            evidence = Evidence(
                reference=str(payment["id"])[:128],
                amount=_decimal(payment.get("value"), "payment.value"),
                # Values are in the payment method's coin: BTC on-chain and over Lightning alike.
                asset=method.split("-", 1)[0].upper(),
                confirmations=1 if status in SETTLED_PAYMENT else 0,
                in_time=not bool(data.get("afterExpiration")),
                valid=status != "Invalid",
            )
            return ProviderEvent(**base, evidence=(evidence,))
        if kind == "InvoiceProcessing":
            return ProviderEvent(**base, status="Processing")
        if kind == "InvoiceSettled":
            return ProviderEvent(
                **base, status="Settled", settled=True, marked_paid=bool(data.get("manuallyMarked"))
            )
        if kind == "InvoiceExpired":
            note = (
                "BTCPay invoice expired after a partial payment (PaidPartial)"
                if data.get("partiallyPaid")
                else None
            )
            return ProviderEvent(**base, status="Expired", note=note)
        if kind == "InvoiceInvalid":
            return ProviderEvent(**base, status="Invalid", note="BTCPay marked the invoice invalid")
        return ProviderEvent(**base)  # InvoiceCreated and anything newer: stored, nothing to do


def _onchain_method(methods: Any, wanted: str) -> dict[str, Any]:
    if not isinstance(methods, list):
        raise ProviderUnavailable("BTCPay's payment methods are not a list", field="payment_method")
    candidates = [m for m in methods if isinstance(m, dict) and m.get("destination")]

    def name(m: dict[str, Any]) -> str:
        return str(m.get("paymentMethodId") or m.get("paymentMethod") or "")

    for preferred in (wanted, *ONCHAIN_METHODS):
        for m in candidates:
            if name(m) == preferred:
                return m
    raise ProviderUnavailable("The BTCPay invoice offers no on-chain bitcoin address", field="payment_method")
