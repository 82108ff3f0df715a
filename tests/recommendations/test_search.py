"""Relevance search through `GET .../products?q=` (guest) and the signed-in buyer's search."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.catalog.models import Product
from tests.factories import make_store

TOOLS = [
    {
        "sku": "HAM-CLAW",
        "name": "Claw hammer",
        "description": "Forged steel head, hickory handle.",
        "price": "19.00",
        "stock": 9,
    },
    {
        "sku": "NAIL-100",
        "name": "Steel nails, box of 100",
        "description": "Galvanised, 40 mm.",
        "price": "4.50",
        "stock": 9,
    },
    {
        "sku": "SCR-SET",
        "name": "Screwdriver set",
        "description": "Six drivers with magnetic tips.",
        "price": "15.00",
        "stock": 9,
    },
    {
        "sku": "GLOVE-L",
        "name": "Work gloves",
        "description": "Leather palms; keeps nails and splinters out.",
        "price": "8.00",
        "stock": 0,
    },
    {
        "sku": "TAPE-5M",
        "name": "Tape measure",
        "description": "Five metres, steel blade.",
        "price": "7.00",
        "stock": 9,
    },
]


@pytest.fixture
async def tools(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="tools", products=TOOLS)
    return "/api/v1/stores/tools/products"


async def skus(client: httpx.AsyncClient, path: str, q: str) -> list[str]:
    r = await client.get(path, params={"q": q})
    assert r.status_code == 200, r.text
    return [i["sku"] for i in r.json()["items"]]


@pytest.mark.parametrize(
    ("q", "first"),
    [
        ("hammer", "HAM-CLAW"),
        ("hammers", "HAM-CLAW"),  # plural
        ("hamer", "HAM-CLAW"),  # a letter missing
        ("screwdrivers", "SCR-SET"),
        ("screwdirver", "SCR-SET"),  # two letters swapped
        ("nail", "NAIL-100"),  # the name outranks another product's description
        ("scr-set", "SCR-SET"),  # the SKU
        ("tape measure steel", "TAPE-5M"),
    ],
)
async def test_ranked_by_relevance_tolerant_of_plurals_and_typos(
    client: httpx.AsyncClient, tools: str, q: str, first: str
) -> None:
    found = await skus(client, tools, q)
    assert found, q
    assert found[0] == first, found


async def test_same_shape_as_the_listing_and_nothing_for_unrelated_words(
    client: httpx.AsyncClient, tools: str
) -> None:
    listing = (await client.get(tools)).json()["items"]
    r = await client.get(tools, params={"q": "gloves"})
    assert r.status_code == 200
    (glove,) = [i for i in r.json()["items"] if i["sku"] == "GLOVE-L"]
    assert glove == next(i for i in listing if i["sku"] == "GLOVE-L")
    assert glove["available"] is False  # found, and honestly shown as not available
    assert await skus(client, tools, "xylophone") == []
    assert await skus(client, tools, '"; drop table products; --') == []
    assert await skus(client, tools, "   ") == [i["sku"] for i in listing]  # blank: the plain listing
    r = await client.get(tools, params={"q": "x" * 201})
    assert r.status_code == 422
    assert "q" in r.text


async def test_other_stores_products_are_never_found(client: httpx.AsyncClient, tools: str) -> None:
    assert await skus(client, "/api/v1/stores/demo/products", "hammer") == []
    assert await skus(client, tools, "notebook") == []
    assert (await skus(client, "/api/v1/stores/demo/products", "notebooks"))[0] == "NB-A5-DOT"


async def test_the_index_follows_catalog_changes(
    client: httpx.AsyncClient, tools: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Whatever writes products (the store file, the catalog admin, an import, a migration that
    rebuilds the table), search sees the change: on SQLite the FTS5 triggers must survive."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Product).where(Product.sku == "TAPE-5M").values(name="Laser distance meter")
        )
        session.add(
            Product(
                store_id=(await session.scalar(select(Product.store_id).where(Product.sku == "TAPE-5M"))),
                sku="LEVEL-60",
                name="Spirit level",
                description="60 cm, aluminium.",
                price=Decimal("12.00"),
                on_hand=3,
                reserved=0,
                active=True,
                position=9,
            )
        )
    assert (await skus(client, tools, "laser meters"))[0] == "TAPE-5M"
    assert "TAPE-5M" not in await skus(client, tools, "measure")  # the old name is gone
    assert await skus(client, tools, "spirit levels") == ["LEVEL-60"]
