"""Suggestions for a cart and relevance search: guest routes (no credentials read) and the signed-in
buyer's versions under /api/v1/account, which lean towards what that account bought before."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ordergate.accounts.auth import CurrentAccount
from ordergate.accounts.errors import NotSignedIn
from ordergate.catalog.schemas import ProductList
from ordergate.checkout.rows import find_checkout
from ordergate.db import Session
from ordergate.deps import CurrentStore
from ordergate.errors import CheckoutExpired, NotFound, responses
from ordergate.recommendations import search, suggest
from ordergate.recommendations.schemas import SuggestionList

guest = APIRouter(prefix="/api/v1/stores/{store}", tags=["guest: recommendations"])
account = APIRouter(prefix="/api/v1/account/stores/{store}", tags=["account"])

CheckoutId = Annotated[str, Path(max_length=128)]
StoreSlug = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=12, description="How many suggestions at most")]
Words = Annotated[str, Query(min_length=1, max_length=200, description="What the buyer typed")]


@guest.get(
    "/checkouts/{checkout_id}/recommendations",
    response_model=SuggestionList,
    responses=responses(NotFound, CheckoutExpired),
)
async def recommendations(
    session: Session, store: StoreSlug, checkout_id: CheckoutId, limit: Limit = 3
) -> SuggestionList:
    """Products bought together with the cart's items (then popular, then similar): never one in the
    cart or out of stock. Read-only: changes no price, reserves nothing. Two SQL statements."""
    cart = await suggest.guest_cart(session, store, checkout_id)
    return await suggest.suggestions(session, cart, limit=limit)


@account.get(
    "/checkouts/{checkout_id}/recommendations",
    response_model=SuggestionList,
    responses=responses(NotSignedIn, NotFound, CheckoutExpired),
)
async def account_recommendations(
    session: Session,
    store: CurrentStore,
    current: CurrentAccount,
    checkout_id: CheckoutId,
    limit: Limit = 3,
) -> SuggestionList:
    """The same for the signed-in buyer's checkout, seeded also by what the account bought before."""
    checkout = await find_checkout(session, store, checkout_id, account_id=current.account.id)
    cart = suggest.checkout_cart(store, checkout)
    return await suggest.suggestions(session, cart, limit=limit, account_id=current.account.id)


@account.get("/products", response_model=ProductList, responses=responses(NotSignedIn, NotFound))
async def account_search(
    session: Session, store: CurrentStore, current: CurrentAccount, q: Words
) -> ProductList:
    """Search for the signed-in buyer: among equally good matches, what they bought before and what
    goes with it comes first. Prices are the same for everyone."""
    affinity = await suggest.account_affinity(session, store.id, current.account.id)
    return await search.product_list(session, store, q, affinity=affinity)
