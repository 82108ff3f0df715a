"""CSV files: rows grouped into orders, each order one payload through the same flow."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake import flow, receive
from ordergate.intake.adapters.base import Envelope
from ordergate.intake.adapters.csv import read_groups
from ordergate.intake.sources import find_source
from tests.intake.channel import FIXTURES


async def import_groups(maker: async_sessionmaker[AsyncSession], data: bytes) -> dict[str, flow.Result]:
    results = {}
    for group in read_groups(data):
        async with maker() as session, session.begin():
            source, store = await find_source(session, "csv-demo")
            results[group.external_id] = await receive.take(
                session,
                source,
                store,
                envelope=Envelope(topic="csv"),
                body=group.text.encode(),
                content_type="text/csv",
            )
    return results


async def test_csv_orders_go_through_the_same_flow(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    data = (FIXTURES / "orders.csv").read_bytes()
    results = await import_groups(sessionmaker, data)
    assert {k: r.status for k, r in results.items()} == {
        "POS-1001": "accepted",
        "POS-1002": "accepted",
        "POS-1003": "quarantined",
        "POS-1004": "quarantined",
    }
    assert sorted((i.rule, i.owner) for i in results["POS-1003"].issues) == [
        ("contact.email", "back-office"),
        ("reference.sku", "catalog"),
    ]
    assert [(i.rule, i.field) for i in results["POS-1004"].issues] == [("payload.shape", "lines[0].quantity")]

    again = await import_groups(sessionmaker, data)
    assert {r.status for r in again.values()} == {"duplicate"}
    assert again["POS-1001"].order_number == results["POS-1001"].order_number
