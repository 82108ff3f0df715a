"""Asking a provider to give money back: Stripe's Refunds API and BTCPay's invoice refund.

Called with no database transaction open (payments/refunds.py commits the pending refund first).
An answer that settles nothing (network error, 5xx) raises ProviderUnavailable: the refund stays
pending and is asked again; a refusal (4xx) is a failed refund with the provider's reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate import money
from ordergate.payments import stripe_amounts
from ordergate.payments.btcpay import BtcpayProvider, method_id_1x, method_id_2x
from ordergate.payments.config import BtcpaySettings, StripeSettings, secret_value
from ordergate.payments.protocol import ProviderUnavailable, RefundUpdate
from ordergate.payments.stripe import STRIPE_REFUND_STATES, StripeProvider

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class RefundAsk:
    """What the provider is asked, copied out of the database before the transaction ends."""

    public_id: str
    kind: str
    config: Mapping[str, Any]
    target: str  # the PaymentIntent (Stripe) or the invoice (BTCPay)
    amount: Decimal
    currency: str
    order_number: str
    store_slug: str
    reason: str
    payment_method: str = "BTC"


@dataclass(frozen=True)
class RefundAnswer:
    state: str  # pending | succeeded | failed
    provider_reference: str | None = None
    claim_url: str | None = None
    detail: str | None = None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"answered {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # Stripe
        return str(body["error"].get("message") or body["error"].get("code") or response.status_code)[:400]
    if isinstance(body, dict) and body.get("message"):  # BTCPay {code, message}
        return str(body["message"])[:400]
    if isinstance(body, list) and body and isinstance(body[0], dict):  # BTCPay validation [{path, message}]
        return "; ".join(f"{e.get('path', '')}: {e.get('message', '')}" for e in body)[:400]
    return f"answered {response.status_code}"


async def stripe_refund(ask: RefundAsk, http: httpx.AsyncClient) -> RefundAnswer:
    """POST /v1/refunds (form-encoded) for the PaymentIntent, in minor units; our refund's id is the
    Idempotency-Key, so asking again after a lost answer never refunds twice."""
    import httpx

    cfg = StripeProvider().settings(ask.config)
    if not isinstance(cfg, StripeSettings):
        return RefundAnswer("failed", detail=f"the Stripe settings are not valid: {cfg}")
    key = secret_value(cfg.secret_key)
    if not key:
        return RefundAnswer("failed", detail="the Stripe secret key is not set")
    form = {
        "payment_intent": ask.target,
        "amount": str(stripe_amounts.to_minor(ask.amount, ask.currency)),
        "reason": "requested_by_customer",
        "metadata[ordergate_refund]": ask.public_id,
        "metadata[ordergate_order]": ask.order_number,
        "metadata[ordergate_store]": ask.store_slug,
    }
    # Stripe-Version pinned as for every call of ours (payments/stripe.py).
    headers = {**StripeProvider().auth_headers(key), "Idempotency-Key": f"ordergate-{ask.public_id}"}
    try:
        response = await http.post(f"{cfg.api_url}/v1/refunds", data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"Stripe could not be reached ({type(exc).__name__})") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(f"Stripe answered {response.status_code}")
    if response.status_code != 200:
        return RefundAnswer("failed", detail=f"Stripe refused: {_error_text(response)}")
    try:
        refund = response.json()
        refund_id, status = str(refund["id"]), str(refund.get("status") or "pending")
    except (ValueError, KeyError, TypeError):
        raise ProviderUnavailable("Stripe's refund answer is incomplete") from None
    state = STRIPE_REFUND_STATES.get(status, "pending")
    detail = str(refund.get("failure_reason") or "")[:400] or None if state == "failed" else None
    return RefundAnswer(state, provider_reference=refund_id, detail=detail)


async def btcpay_refund(ask: RefundAsk, http: httpx.AsyncClient) -> RefundAnswer:
    """POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund (Greenfield) with the `Custom`
    variant in the invoice's currency. BTCPay answers with a pull payment: the buyer claims the
    money at its `viewLink` (sent to them), so the refund stays pending until they do."""
    import httpx

    cfg = BtcpayProvider().settings(ask.config)
    if not isinstance(cfg, BtcpaySettings):
        return RefundAnswer("failed", detail=f"the BTCPay settings are not valid: {cfg}")
    key = secret_value(cfg.api_key)
    if not key:
        return RefundAnswer("failed", detail="the BTCPay API key is not set")
    body = {
        "name": f"Refund of order {ask.order_number}",
        "description": ask.reason[:200] or None,
        # 1.x reads `paymentMethod`; 2.x renamed it `payoutMethodId` (btcpayserver#6198) and, without
        # it, refunds through the invoice's default method, which may be Lightning (#6315).
        "paymentMethod": method_id_1x(cfg.payment_method or ask.payment_method),
        "payoutMethodId": method_id_2x(cfg.payment_method or ask.payment_method),
        "refundVariant": "Custom",
        "customAmount": money.text(ask.amount, ask.currency),
        "customCurrency": ask.currency,
    }
    url = f"{cfg.url}/api/v1/stores/{cfg.store_id}/invoices/{ask.target}/refund"
    headers = BtcpayProvider().auth_headers(key)
    try:
        response = await http.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"BTCPay could not be reached ({type(exc).__name__})") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(f"BTCPay answered {response.status_code}")
    if response.status_code != 200:
        return RefundAnswer("failed", detail=f"BTCPay refused: {_error_text(response)}")
    try:
        pull = response.json()
        pull_id = str(pull["id"])
    except (ValueError, KeyError, TypeError):
        raise ProviderUnavailable("BTCPay's refund answer is incomplete") from None
    link = pull.get("viewLink")
    claim = str(link)[:500] if isinstance(link, str) and link.startswith(("https://", "http://")) else None
    return RefundAnswer("pending", provider_reference=pull_id, claim_url=claim)


def _payout_amount(payout: Mapping[str, Any]) -> Decimal:
    """A payout's amount in the pull payment's currency: `originalAmount` (2.x), `amount` (1.x)."""
    value = payout.get("originalAmount", payout.get("amount"))
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


async def btcpay_refund_state(
    config: Mapping[str, Any], pull_payment_id: str, amount: Decimal, http: httpx.AsyncClient
) -> RefundUpdate | None:
    """Where a BTCPay refund stands, from its pull payment (Greenfield's public "Get Pull Payment"
    and "Get Payouts"): succeeded once its Completed payouts cover the amount, failed when the
    pull payment was archived short of it, else None (the buyer has not claimed it, or BTCPay
    has not paid it yet)."""
    import httpx

    cfg = BtcpayProvider().settings(config)
    if not isinstance(cfg, BtcpaySettings):
        return None
    base = f"{cfg.url}/api/v1/pull-payments/{pull_payment_id}"
    try:
        pull = await http.get(base)
        payouts = await http.get(f"{base}/payouts")
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"BTCPay could not be reached ({type(exc).__name__})") from None
    if pull.status_code != 200 or payouts.status_code != 200:
        raise ProviderUnavailable(f"BTCPay answered {pull.status_code}/{payouts.status_code}")
    try:
        archived = bool(pull.json().get("archived"))
        rows = [p for p in payouts.json() if isinstance(p, dict)]
    except (ValueError, AttributeError, TypeError):
        raise ProviderUnavailable("BTCPay's pull payment answer is incomplete") from None
    paid = sum((_payout_amount(p) for p in rows if p.get("state") == "Completed"), Decimal(0))
    if paid >= amount:
        return RefundUpdate("succeeded", provider_reference=pull_payment_id)
    if archived:
        return RefundUpdate(
            "failed",
            provider_reference=pull_payment_id,
            detail=f"BTCPay: the pull payment was archived with {paid} of {amount} paid out",
        )
    return None


async def ask_provider(ask: RefundAsk, http: httpx.AsyncClient) -> RefundAnswer:
    if ask.kind == "stripe":
        return await stripe_refund(ask, http)
    if ask.kind == "btcpay":
        return await btcpay_refund(ask, http)
    return RefundAnswer("failed", detail=f"{ask.kind} payments are not refunded through a provider")
