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
- InvoiceInvalid closes it and flags the order; PaidOver shows up as an overpayment (flagged).

BTCPay 2.x names payment methods `paymentMethodId` ("BTC-CHAIN") with their `currency`, where 1.x
said `paymentMethod` ("BTC") and `cryptoCode`; both are read. A store with lazy payment methods
gives an invoice's method no address until it is activated: we activate the on-chain one first.
What we send names a method in 1.x's form, which 2.x still reads (btcpayserver#5964: "BTCPay will
automatically convert the old strings"); the refund's own field was renamed in 2.0 (`paymentMethod`
-> `payoutMethodId`, btcpayserver#6198), so a refund names it both ways."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from ordergate import clock, money
from ordergate.payments.config import BtcpaySettings, secret_value
from ordergate.payments.protocol import (
    Evidence,
    PendingInstruction,
    PreparedInstruction,
    ProviderEvent,
    ProviderUnavailable,
)
from ordergate.payments.remote_base import RemoteProviderBase
from ordergate.signing import hmac_hex, same

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "btcpay-sig"
ONCHAIN_METHODS = ("BTC", "BTC-CHAIN", "BTC-OnChain")
SETTLED_PAYMENT = ("Settled", "Confirmed", "Complete")
# Payment method ids, 1.x suffix -> 2.x suffix (btcpayserver#5964, "Payment Methods"); "" is "BTC".
SUFFIX_2X = {
    "": "CHAIN",
    "OnChain": "CHAIN",
    "BitcoinLike": "CHAIN",
    "BTCLike": "CHAIN",
    "MoneroLike": "CHAIN",
    "ZcashLike": "CHAIN",
    "LightningNetwork": "LN",
    "LightningLike": "LN",
    "OffChain": "LN",
    "Off-Chain": "LN",
    "LNURLPAY": "LNURL",
}
SUFFIX_1X = {"CHAIN": "", "LN": "LightningNetwork", "LNURL": "LNURLPAY"}


def _split_method(method_id: str) -> tuple[str, str]:
    cut = min((i for i in (method_id.find("-"), method_id.find("_")) if i > 0), default=len(method_id))
    return method_id[:cut], method_id[cut + 1 :]


def method_id_2x(method_id: str) -> str:
    """A payment method id as BTCPay 2.x names it ("BTC" -> "BTC-CHAIN", "BTC_LightningLike" -> "BTC-LN")."""
    code, rest = _split_method(method_id)
    return f"{code}-{SUFFIX_2X.get(rest, rest)}"


def method_id_1x(method_id: str) -> str:
    """The same id as BTCPay 1.x names it ("BTC-CHAIN" -> "BTC"), which 2.x also accepts as input."""
    code, rest = _split_method(method_id_2x(method_id))
    legacy = SUFFIX_1X.get(rest, rest)
    return f"{code}-{legacy}" if legacy else code


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{what} is not a number")
    return number


class BtcpayProvider(RemoteProviderBase[BtcpaySettings]):
    kind = "btcpay"
    name = "BTCPay"
    settings_type = BtcpaySettings
    secrets = ("api_key", "webhook_secret")
    probe_refusals: ClassVar[Mapping[int, str]] = {404: "btcpay_store_not_found"}

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"token {key}", "Accept": "application/json"}

    def probe_url(self, cfg: BtcpaySettings) -> tuple[str, dict[str, Any]]:
        # Listing invoices needs the same permission the payment methods lookup does.
        return f"{cfg.url}/api/v1/stores/{cfg.store_id}/invoices", {"take": 1}

    async def prepare(
        self, config: Mapping[str, Any], pending: PendingInstruction, http: httpx.AsyncClient
    ) -> PreparedInstruction:
        cfg = self._valid(config)
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
            "checkout": {"expirationMinutes": minutes, "paymentMethods": [method_id_1x(cfg.payment_method)]},
        }
        if pending.return_url:
            body["checkout"]["redirectURL"] = pending.return_url
        base = f"{cfg.url}/api/v1/stores/{cfg.store_id}/invoices"
        invoice = await self.call(http.post(base, json=body, headers=self.headers(cfg)), "create the invoice")
        invoice_id = str(invoice.get("id") or "")
        if not invoice_id:
            raise ProviderUnavailable("BTCPay's invoice has no id", field="payment_method")
        methods = await self.call(
            http.get(f"{base}/{invoice_id}/payment-methods", headers=self.headers(cfg)), "read the invoice"
        )
        chosen = _onchain_method(methods, cfg.payment_method)
        if not chosen.get("destination") or chosen.get("activated") is False:
            # Lazy payment methods: the address exists once the method is activated.
            await self.call(
                http.post(
                    f"{base}/{invoice_id}/payment-methods/{_method_id(chosen)}/activate",
                    headers=self.headers(cfg),
                ),
                "activate the payment method",
                answer=False,
            )
            methods = await self.call(
                http.get(f"{base}/{invoice_id}/payment-methods", headers=self.headers(cfg)),
                "read the invoice",
            )
            chosen = _onchain_method(methods, cfg.payment_method)
        try:
            asset = str(chosen.get("cryptoCode") or chosen.get("currency") or "BTC").upper()
            if asset not in money.ASSET_EXPONENTS:
                raise ValueError(f"asset {asset} is not supported")
            due = chosen.get("due") or chosen.get("amount")
            amount = money.quantize(_decimal(due, "due"), asset)
            rate = _decimal(chosen["rate"], "rate") if chosen.get("rate") else None
            destination = str(chosen.get("destination") or "")
            if not destination:
                raise ValueError("no destination")
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

    def verify_callback(
        self, config: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> bool:
        cfg = self.settings(config)
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
            method = str(data.get("paymentMethodId") or data.get("paymentMethod") or "BTC")  # 2.x, 1.x
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


def _method_id(method: dict[str, Any]) -> str:
    return str(method.get("paymentMethodId") or method.get("paymentMethod") or "")  # 2.x, 1.x


def _onchain_method(methods: Any, wanted: str) -> dict[str, Any]:
    if not isinstance(methods, list):
        raise ProviderUnavailable("BTCPay's payment methods are not a list", field="payment_method")
    candidates = [m for m in methods if isinstance(m, dict)]
    for preferred in (wanted, *ONCHAIN_METHODS):
        for m in candidates:
            if _method_id(m) == preferred:
                return m
    raise ProviderUnavailable("The BTCPay invoice offers no on-chain bitcoin address", field="payment_method")
