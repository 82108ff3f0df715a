"""A buyer accepting a suggestion: the item goes into the checkout (or a new one, after an order), and
the acceptance is noted for the funnel. Nothing is reserved and no price changes: the cart is priced
from the live catalog like any other."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.checkout.models import Checkout
from ordergate.checkout.rows import find_checkout
from ordergate.checkout.schemas import CheckoutIn, CheckoutPatch, ItemIn
from ordergate.checkout.service import open_checkout, update_checkout
from ordergate.recommendations.models import SuggestionAdd
from ordergate.recommendations.schemas import Reason
from ordergate.settings import Settings
from ordergate.stores.models import Store


def _note(session: AsyncSession, store: Store, checkout_id: str, sku: str, reason: Reason) -> None:
    session.add(
        SuggestionAdd(
            store_id=store.id,
            checkout_hash=security.hash_token(checkout_id),
            sku=sku,
            reason=reason,
            created_at=clock.now(),
        )
    )


async def add_to_checkout(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    sku: str,
    *,
    reason: Reason,
    settings: Settings,
    account_id: int | None = None,
) -> Checkout:
    """One more of `sku` in the open checkout (a 409 once it is an order, 422 for an unknown SKU)."""
    current = await find_checkout(session, store, checkout_id, account_id=account_id)
    items = [ItemIn(sku=str(i["sku"]), quantity=int(i["quantity"])) for i in current.items]
    items.append(ItemIn(sku=sku, quantity=1))  # merged with an existing line by the checkout
    checkout = await update_checkout(
        session, store, checkout_id, CheckoutPatch(items=items), settings=settings, account_id=account_id
    )
    _note(session, store, checkout_id, sku, reason)
    await session.flush()
    return checkout


async def start_checkout_with(
    session: AsyncSession, store: Store, sku: str, *, reason: Reason, settings: Settings
) -> str:
    """After an order, a new guest checkout holding the suggestion; returns its id."""
    opened = await open_checkout(
        session, store, CheckoutIn(items=[ItemIn(sku=sku, quantity=1)]), settings=settings
    )
    checkout_id = opened.id
    _note(session, store, checkout_id, sku, reason)
    await session.flush()
    return checkout_id
