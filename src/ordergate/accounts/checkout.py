"""Account checkout: a signed-in buyer's checkout, linked to the account, through the same checkout
and order-creation rules as a guest's (checkout/service.py, orders/create.py), and reorders."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts.models import EMAIL, PHONE, Account
from ordergate.accounts.service import verified_contacts
from ordergate.catalog.models import Product
from ordergate.catalog.service import products_by_sku
from ordergate.checkout import rows as checkout_rows
from ordergate.checkout import service as checkout_service
from ordergate.checkout.complete import complete_checkout
from ordergate.checkout.models import Checkout
from ordergate.checkout.schemas import CheckoutIn, CheckoutOut, CheckoutPatch, ItemIn, QuoteOut
from ordergate.contact import ContactIn
from ordergate.errors import Conflict, NotFound
from ordergate.orders.models import Order
from ordergate.orders.schemas import OrderIn
from ordergate.orders.service import load_order
from ordergate.settings import Settings
from ordergate.stores.models import Store


def account_checkout_url(settings: Settings, store: Store, checkout_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/account/{store.slug}/checkout/{checkout_id}"


async def _default_contact(session: AsyncSession, account: Account) -> ContactIn | None:
    contacts = await verified_contacts(session, account)
    email = next((c.value for c in contacts if c.kind == EMAIL), None)
    phone = next((c.value for c in contacts if c.kind == PHONE), None)
    if not (email or phone):
        return None
    return ContactIn.model_validate({k: v for k, v in (("email", email), ("phone", phone)) if v})


async def view(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    checkout: Checkout,
    *,
    settings: Settings,
    products: dict[str, Product] | None = None,
) -> CheckoutOut:
    out = await checkout_service.checkout_view(
        session, store, checkout_id, checkout, settings=settings, products=products
    )
    # An account's checkout resumes on the account's page, never on the guest checkout page.
    return out.model_copy(update={"resume_url": account_checkout_url(settings, store, checkout_id)})


async def open_checkout(
    session: AsyncSession, store: Store, account: Account, data: CheckoutIn, *, settings: Settings
) -> checkout_service.Opened:
    if data.contact is None:  # the account's verified contact, unless the buyer gives another
        data = data.model_copy(update={"contact": await _default_contact(session, account)})
    return await checkout_service.open_checkout(
        session, store, data, settings=settings, account_id=account.id
    )


async def find_checkout(session: AsyncSession, store: Store, account: Account, checkout_id: str) -> Checkout:
    return await checkout_rows.find_checkout(session, store, checkout_id, account_id=account.id)


async def update_checkout(
    session: AsyncSession,
    store: Store,
    account: Account,
    checkout_id: str,
    patch: CheckoutPatch,
    *,
    settings: Settings,
) -> Checkout:
    return await checkout_service.update_checkout(
        session, store, checkout_id, patch, settings=settings, account_id=account.id
    )


async def quote(
    session: AsyncSession, store: Store, account: Account, checkout_id: str, *, settings: Settings
) -> QuoteOut:
    return await checkout_service.quote(session, store, checkout_id, settings=settings, account_id=account.id)


async def place_order(
    session: AsyncSession,
    store: Store,
    account: Account,
    checkout_id: str,
    data: OrderIn,
    *,
    idempotency_key: str | None,
    settings: Settings,
) -> tuple[Order, str | None, bool]:
    """The order of the account's checkout: `source="web-account"`, linked to the account."""
    return await complete_checkout(
        session,
        store,
        checkout_id,
        data,
        idempotency_key=idempotency_key,
        settings=settings,
        account_id=account.id,
    )


async def reorder(
    session: AsyncSession, store: Store, account: Account, number: str, *, settings: Settings
) -> checkout_service.Opened:
    """A new account checkout with the items of one of the account's orders that are still sold,
    the same delivery details, and the order's contact."""
    try:
        order = await load_order(session, store, number=number)
    except NotFound:
        raise NotFound("No such order on this account", field="order") from None
    if order.account_id != account.id:
        raise NotFound("No such order on this account", field="order")
    products = await products_by_sku(session, store, (line.sku for line in order.lines))
    items = [
        ItemIn(sku=line.sku, quantity=line.quantity)
        for line in order.lines
        if line.sku in products and products[line.sku].active
    ]
    if not items:
        raise Conflict("None of this order's items are sold any more", field="items")
    contact = None
    if order.email or order.phone:
        contact = ContactIn.model_validate(
            {k: v for k, v in (("email", order.email), ("phone", order.phone)) if v}
        )
    data = CheckoutIn.model_validate(
        {
            "items": [i.model_dump() for i in items],
            "contact": contact.model_dump(exclude_none=True) if contact else None,
            "delivery": dict(order.delivery) if order.delivery else None,
        }
    )
    return await open_checkout(session, store, account, data, settings=settings)
