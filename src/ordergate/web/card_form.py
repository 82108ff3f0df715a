"""The order page's card form: Stripe's Payment Element, mounted by our own /static/card.js.

Written from Stripe's published docs:
- "Accept a payment" (docs.stripe.com/payments/accept-a-payment?ui=elements): the PaymentIntent is
  created on the server (payments.stripe), its client secret goes to the client, Stripe.js is loaded
  from https://js.stripe.com/v3/, `Stripe(publishableKey)`, `stripe.elements({clientSecret})`,
  `elements.create('payment')`, then `stripe.confirmPayment({elements, confirmParams: {return_url}})`
  (docs.stripe.com/js/payment_intents/confirm_payment); the outcome reaches us by the
  `payment_intent.succeeded` webhook, never from the browser.
- "Including Stripe.js" (docs.stripe.com/js/including): always loaded from js.stripe.com itself.
- "Integration security guide", Content Security Policy (docs.stripe.com/security/guide): Stripe.js
  needs script-src https://js.stripe.com https://*.js.stripe.com, frame-src https://js.stripe.com
  https://*.js.stripe.com https://hooks.stripe.com, connect-src https://api.stripe.com (the
  maps.googleapis.com entries there are for the Address Element's autocomplete, not used here).
- The PaymentIntent object (docs.stripe.com/api/payment_intents/object), `client_secret`: it can
  complete the payment, so it is not stored in the clear, logged, or shown to anyone but the
  customer. It is sealed at rest (payments.remote) and opened here only for the order page, which
  only the holder of the order's token reaches; the tracking API's answer never carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordergate.notifications.sealing import SealBroken, unseal
from ordergate.orders.schemas import TrackingOut
from ordergate.settings import Settings

STRIPE_JS = "https://js.stripe.com/v3/"
# This page's additions to the site's CSP while a card form is on it, and on no other page.
STRIPE_CSP: dict[str, tuple[str, ...]] = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}


@dataclass(frozen=True)
class CardForm:
    publishable_key: str
    client_secret: str
    return_url: str  # where Stripe sends the buyer back: this order's tracking link


def card_form(view: TrackingOut, settings: Settings, *, payable: bool, return_url: str) -> CardForm | None:
    """The card form's data for the buyer's own order page, while the order is payable by card;
    None otherwise (other kinds, paid, expired, still preparing, or a seal this key cannot open)."""
    payment = view.payment
    if not payable or payment is None or payment.kind != "stripe" or payment.details.get("preparing"):
        return None
    key = payment.details.get("publishable_key")
    sealed = payment.sealed_detail("client_secret")
    if not isinstance(key, str) or not key.startswith("pk_") or sealed is None:
        return None
    try:
        secret = unseal(settings, sealed[0], context=sealed[1])
    except SealBroken:
        return None  # the page says the card form cannot be shown; the secret is never logged
    return CardForm(publishable_key=key, client_secret=secret, return_url=return_url)
