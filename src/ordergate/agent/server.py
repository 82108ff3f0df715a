"""The assistant's MCP tools: describe a store, find products, explain the checkout, prepare a cart, and
read an order's status. None of them creates, pays for or moves an order; only the buyer places an order,
by pressing "Place order" on the checkout page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TypeVar

import structlog
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import __version__, money
from ordergate.agent.protocol import AgentServer, domain_message, invalid_arguments, strict
from ordergate.agent.schemas import (
    CartSuggestions,
    CheckoutGuide,
    CheckoutStep,
    MilestoneMeaning,
    PaymentOption,
    PreparedCheckout,
    ProductMatches,
    StoreDescription,
)
from ordergate.agent.wording import (
    INSTRUCTIONS,
    LIMITS,
    MEANINGS,
    PREPARED_BY,
    TRACKING_LINK,
    CartItems,
    Limit,
    OrderToken,
    SearchQuery,
    StoreSlug,
    SuggestLimit,
)
from ordergate.catalog import service as catalog
from ordergate.checkout.schemas import CheckoutIn
from ordergate.checkout.service import checkout_ttl, open_and_view
from ordergate.errors import DomainError, NotAvailable, NotFound
from ordergate.orders.schemas import TrackingOut
from ordergate.orders.service import track
from ordergate.orders.status import MILESTONES, OrderStatus
from ordergate.recommendations import search, suggest
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import (
    get_store,
    guest_checkout,
    payment_window,
    ready_methods,
    store_view,
)

log = structlog.get_logger("ordergate.agent")
T = TypeVar("T")
SessionSource = Callable[[], async_sessionmaker[AsyncSession]]


def _duration(seconds: int) -> str:
    """900 -> "15 minutes", 86400 -> "24 hours", 259200 -> "3 days"."""
    for unit, size, at_least in (("day", 86400, 2 * 86400), ("hour", 3600, 3600), ("minute", 60, 60)):
        if seconds >= at_least and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _shipping(shop: Store) -> Decimal:
    return money.quantize(Decimal(shop.shipping_flat), shop.currency)


class AgentTools:
    """The tools, bound to the deployment's settings and database. Each call is one transaction."""

    def __init__(self, settings: Settings, sessions: SessionSource):
        self.settings, self.sessions = settings, sessions

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions()() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def _run(self, tool: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One transaction; domain problems become tool errors the assistant can read out."""
        try:
            async with self._transaction() as session:
                return await work(session)
        except DomainError as exc:
            raise ToolError(domain_message(exc)) from exc
        except ValidationError as exc:
            raise ToolError(invalid_arguments(exc)) from exc
        except (SQLAlchemyError, OSError) as exc:
            # The driver's text can hold statement parameters (token hashes): log the type only.
            log.error("agent_database_error", tool=tool, error=type(exc).__name__)
            raise ToolError("The store's database is not available right now; try again shortly") from exc

    async def describe_store(self, store: StoreSlug) -> StoreDescription:
        async def work(session: AsyncSession) -> StoreDescription:
            shop = await get_store(session, store)
            view = store_view(shop, settings=self.settings)
            return StoreDescription(
                **view.model_dump(),
                storefront_url=f"{self.settings.base_url.rstrip('/')}/s/{shop.slug}",
                shipping_flat=str(_shipping(shop)),
                assistant_limits=LIMITS,
            )

        return await self._run("describe_store", work)

    async def list_products(
        self, store: StoreSlug, query: SearchQuery = None, limit: Limit = 50
    ) -> ProductMatches:
        async def work(session: AsyncSession) -> ProductMatches:
            shop = await get_store(session, store)
            if query:  # the storefront's own relevance ranking (recommendations/search.py)
                items = (await search.product_list(session, shop, query)).items
            else:
                items = (await catalog.list_products(session, shop)).items
            return ProductMatches(store=shop.slug, query=query or None, count=len(items), items=items[:limit])

        return await self._run("list_products", work)

    async def suggest_with_cart(
        self, store: StoreSlug, items: CartItems, limit: SuggestLimit = 3
    ) -> CartSuggestions:
        async def work(session: AsyncSession) -> CartSuggestions:
            shop = await get_store(session, store)
            cart = suggest.Cart(shop.id, shop.currency, tuple(i.sku for i in items))
            found = await suggest.suggestions(session, cart, limit=limit)
            return CartSuggestions(store=shop.slug, cart=list(cart.skus), items=found.items)

        return await self._run("suggest_with_cart", work)

    async def explain_checkout(self, store: StoreSlug) -> CheckoutGuide:
        async def work(session: AsyncSession) -> CheckoutGuide:
            shop = await get_store(session, store)
            return self._guide(shop)

        return await self._run("explain_checkout", work)

    def _guide(self, shop: Store) -> CheckoutGuide:
        view = store_view(shop, settings=self.settings)
        ready = {m.key: m for m in ready_methods(shop, settings=self.settings)}
        options = [
            PaymentOption(
                id=m.id,
                label=m.label,
                asset=m.asset,
                required_confirmations=m.required_confirmations,
                pay_within=_duration(payment_window(shop, ready[m.id], self.settings)),
            )
            for m in view.payment_methods
            if m.id in ready
        ]
        fields = ", ".join(f.name for f in view.delivery_fields) or "none"
        policies = ", ".join(f"{p.title} (version {p.version})" for p in view.policies) or "none"
        methods = "; ".join(f"{o.label}: pay within {o.pay_within}" for o in options) or "none is ready"
        ttl = _duration(int(checkout_ttl(shop, self.settings).total_seconds()))
        steps = [
            ("cart", "assistant or buyer", "Products and quantities. Prices and stock are read live."),
            (
                "contact",
                "buyer only",
                "An email address or a phone number (at least one): the tracking link and payment "
                "updates go there.",
            ),
            ("delivery", "buyer only", f"Delivery details; this store requires: {fields}."),
            (
                "review",
                "buyer only",
                f"The checkout page shows the lines, shipping ({view.currency} "
                f"{_shipping(shop)} per order) and the total. "
                "Any quote is advisory: it reserves nothing.",
            ),
            (
                "place order",
                "buyer only",
                f"The buyer chooses a payment method, accepts the store's policies ({policies}) and presses "
                '"Place order". Only then does the order exist: stock is checked and reserved and a '
                "payment instruction is issued. No assistant tool can do this step.",
            ),
            (
                "pay",
                "buyer only",
                f"The buyer pays as the instruction says before its deadline ({methods}). The order is "
                "funded once confirmed payments cover the amount.",
            ),
        ]
        return CheckoutGuide(
            store=shop.slug,
            steps=[
                CheckoutStep(step=n, name=name, done_by=who, what_happens=text)
                for n, (name, who, text) in enumerate(steps, start=1)
            ],
            milestones=[MilestoneMeaning(status=s, proves=MEANINGS[s]) for s in MILESTONES],
            other_outcomes=[
                MilestoneMeaning(status=s, proves=MEANINGS[s])
                for s in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
            ],
            payment_options=options,
            checkout_expires_after=f"{ttl} after its last change",
            assistant_limits=LIMITS,
        )

    async def prepare_checkout(self, store: StoreSlug, items: CartItems) -> PreparedCheckout:
        async def work(session: AsyncSession) -> PreparedCheckout:
            shop = await get_store(session, store)
            available = guest_checkout(shop, settings=self.settings)
            if not available.available:
                raise NotAvailable(
                    f"This store does not take guest orders right now ({available.reason})", field="store"
                )
            data = CheckoutIn(items=items)
            view = await open_and_view(session, shop, data, settings=self.settings, prepared_by=PREPARED_BY)
            return PreparedCheckout(
                **view.model_dump(),
                next_step=(
                    f"Give the buyer this link: {view.resume_url} . On that page they check the items, enter "
                    "their contact and delivery details, choose how to pay, accept the store's policies and "
                    'press "Place order". No order exists until they do; you cannot place it for them.'
                ),
            )

        return await self._run("prepare_checkout", work)

    async def track_order(self, store: StoreSlug, token: OrderToken) -> TrackingOut:
        async def work(session: AsyncSession) -> TrackingOut:
            order_token = token
            link = TRACKING_LINK.search(token)
            if link is not None:
                if link["store"] != store:
                    raise NotFound(
                        f"This tracking link is for the store {link['store']!r}; ask with that store",
                        field="store",
                    )
                order_token = link["token"]
            shop = await get_store(session, store)
            return await track(session, shop, order_token, settings=self.settings)

        return await self._run("track_order", work)


def build_server(settings: Settings, sessions: SessionSource) -> AgentServer:
    """The MCP server with its six tools; `sessions` gives the sessionmaker at call time."""
    tools = AgentTools(settings, sessions)
    reading = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    specs: list[tuple[Callable[..., Awaitable[BaseModel]], str, str, str, ToolAnnotations]] = [
        (
            tools.describe_store,
            "describe_store",
            "Describe a store",
            "What a store offers a buyer without an account: whether guest checkout is available (and "
            "why not), its payment methods, its policies (with summaries and versions), the delivery "
            f"fields it requires, its flat shipping and its storefront link. Read-only. {LIMITS}",
            reading,
        ),
        (
            tools.list_products,
            "list_products",
            "List or search products",
            "The store's products with SKU, name, description, price, currency and stock availability; "
            "give `query` to search: products whose SKU, name or description match its words (plurals "
            "and small typos forgiven), best match first, as the storefront's search ranks them. "
            f"Read-only. {LIMITS}",
            reading,
        ),
        (
            tools.suggest_with_cart,
            "suggest_with_cart",
            "Suggest what goes with a cart",
            "Products to offer beside the given cart (SKUs and quantities): those most often bought "
            "together with its items in this store (reason 'bought_together'), else best-sellers "
            "('popular') or products with similar names ('similar'). Never one already in the cart or "
            "out of stock. Read-only: it creates no checkout, reserves nothing and changes no price; "
            f"prices are the same for every buyer. {LIMITS}",
            reading,
        ),
        (
            tools.explain_checkout,
            "explain_checkout",
            "Explain the checkout",
            "The checkout steps for this store (who does each one), its payment options and deadlines, "
            "how long a checkout stays open, and what each order status proves (awaiting_payment, funded, "
            f"shipped, completed; or expired, cancelled). Read-only. {LIMITS}",
            reading,
        ),
        (
            tools.prepare_checkout,
            "prepare_checkout",
            "Prepare a cart for the buyer",
            "Put products (SKUs from list_products) and quantities into a new checkout marked as prepared "
            "by an assistant, and return its link (`resume_url`) for the buyer to open. This does NOT "
            "place an order, reserve stock or take a payment: the buyer reviews everything on that page, "
            'enters their own contact and delivery details, and presses "Place order" themselves. '
            f"{LIMITS}",
            ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
            ),
        ),
        (
            tools.track_order,
            "track_order",
            "Read an order's status",
            "Where an order is (status, milestones reached, items, totals, payment instruction and "
            "shipments) from the order token or tracking link the buyer gives you. Contact details are "
            "masked and the delivery address is not shown, as on the buyer's tracking page. Read-only: it "
            f"never pays for, cancels or changes the order. {LIMITS}",
            reading,
        ),
    ]
    return AgentServer(
        "ordergate",
        title="ordergate store assistant tools",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        tools=[
            strict(Tool.from_function(fn, name=name, title=title, description=text, annotations=notes))
            for fn, name, title, text, notes in specs
        ],
    )
