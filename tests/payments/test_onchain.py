"""On-chain, watch-only: fresh BIP84 addresses, BIP21 URIs, payments seen through Esplora, and
every payment accounted for (partial, over, late, twice, to a replaced address, vanished)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_UP, Decimal

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.payments.rates import RATES
from ordergate.payments.readiness import PROBES
from tests.factories import Buyer, demo_config
from tests.payments.conftest import BIP84_RECEIVE
from tests.payments.helpers import (
    SHOP_ADMIN,
    attention,
    instructions,
    onchain_method,
    operator_order,
    shop,
    worker_pass,
)
from tests.payments.servers import Chain, RateFeed

TOTAL_BTC = "0.00038800"  # (14.50 + 4.90 shipping) EUR at 50,000 EUR/BTC


async def test_each_order_gets_a_fresh_bip84_address_and_a_bip21_uri(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["guest_checkout"] == {"available": True, "reason": None}
    method = store["payment_methods"][0]
    assert (method["id"], method["kind"], method["asset"], method["ready"]) == ("btc", "onchain", "BTC", True)

    buyer = Buyer(client, store="shop")
    first, second = await buyer.order(method="btc"), await buyer.order(method="btc")
    pay = first["payment"]
    assert (pay["asset"], pay["amount"], pay["required_confirmations"]) == ("BTC", TOTAL_BTC, 2)
    assert pay["destination"] == BIP84_RECEIVE[0]
    assert pay["uri"] == f"bitcoin:{BIP84_RECEIVE[0]}?amount=0.000388&label={first['number']}"
    assert second["payment"]["destination"] == BIP84_RECEIVE[1]  # never reused
    [row] = await instructions(sessionmaker, first["number"])
    assert row.derivation_index == 0
    assert row.rate == Decimal(50000)
    assert row.wallet_id is not None
    quote = (await client.post(f"/api/v1/stores/shop/checkouts/{(await buyer.ready())['id']}/quote")).json()
    assert quote["payment_options"] == [{"method": "btc", "asset": "BTC", "amount": TOTAL_BTC}]


async def test_seen_then_confirmed_payment_funds_the_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    txid = chain.pay(order["payment"]["destination"], TOTAL_BTC, extra_outputs=1)
    await worker_pass(sessionmaker)
    view = await buyer.track(order["token"])
    assert view["status"] == "awaiting_payment"
    assert (view["payment"]["state"], view["payment"]["received_amount"]) == ("pending", TOTAL_BTC)
    assert view["payment"]["confirmations"] == 0

    chain.confirm(txid)
    await worker_pass(sessionmaker)
    assert (await buyer.track(order["token"]))["payment"]["confirmations"] == 1
    chain.mine(1)
    await worker_pass(sessionmaker)
    view = await buyer.track(order["token"])
    assert view["status"] == "funded"
    assert view["payment"]["state"] == "confirmed"
    assert view["payment"]["confirmations"] == 2

    events = (await operator_order(client, order["number"]))["events"]
    chain.mine(3)
    await worker_pass(sessionmaker)  # seen again: confirmations grow, nothing is counted twice
    again = await operator_order(client, order["number"])
    assert [e["type"] for e in again["events"]] == [e["type"] for e in events]
    assert again["payment"]["received_amount"] == TOTAL_BTC
    assert not again["needs_attention"]


async def test_partial_then_the_rest(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    address = order["payment"]["destination"]
    chain.pay(address, "0.0002", confirmed=True)
    chain.mine(1)
    await worker_pass(sessionmaker)
    pay = (await buyer.track(order["token"]))["payment"]
    assert (pay["state"], pay["received_amount"], pay["remaining_amount"]) == (
        "partial",
        "0.00020000",
        "0.00018800",
    )

    chain.pay(address, "0.000188", confirmed=True)  # a second payment to the same address
    chain.mine(1)
    await worker_pass(sessionmaker)
    view = await buyer.track(order["token"])
    assert view["status"] == "funded"
    assert view["payment"]["remaining_amount"] == "0.00000000"
    assert (await attention(client)) == {}


async def test_overpayment_funds_and_records_the_excess_for_refund(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    chain.pay(order["payment"]["destination"], "0.0005", confirmed=True)
    chain.mine(1)
    await worker_pass(sessionmaker)
    view = await operator_order(client, order["number"])
    assert view["status"] == "funded"
    refund = next(e for e in view["events"] if e["type"] == "refund_due")
    assert refund["data"]["amount"] == "0.00011200"
    assert refund["data"]["reason"] == "overpaid"
    assert (await attention(client))[order["number"]] == "overpaid by 0.00011200 BTC: refund the excess"

    # And the buyer pays again after that: recorded, flagged, never lost.
    chain.pay(order["payment"]["destination"], "0.0001")
    await worker_pass(sessionmaker, after=timedelta(minutes=3))
    reason = (await attention(client))[order["number"]]
    assert reason is not None
    assert reason.startswith("extra payment of 0.00010000 BTC after the order was paid")
    assert (await operator_order(client, order["number"]))["payment"]["received_amount"] == "0.00060000"


async def test_late_payment_is_recorded_and_flagged_never_funded(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    await worker_pass(sessionmaker, after=timedelta(minutes=16))  # looked after the window: nothing
    assert (await buyer.track(order["token"]))["status"] == "expired"

    chain.pay(order["payment"]["destination"], TOTAL_BTC, confirmed=True)
    chain.mine(5)
    await worker_pass(sessionmaker, after=timedelta(minutes=3))
    view = await operator_order(client, order["number"])
    assert view["status"] == "expired"
    assert view["payment"]["received_amount"] == TOTAL_BTC
    assert view["needs_attention"] is True
    assert view["attention_reason"] == (
        f"late payment of {TOTAL_BTC} BTC arrived while the order was expired: not funded at the old rate"
    )
    assert any(e["type"] == "refund_due" and e["data"]["reason"] == "late" for e in view["events"])
    r = await client.get("/api/v1/stores/shop/admin/orders?attention=true", headers=SHOP_ADMIN)
    assert [o["number"] for o in r.json()["items"]] == [order["number"]]


async def test_paid_just_before_expiry_and_seen_just_after_counts(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    await worker_pass(sessionmaker)
    txid = chain.pay(order["payment"]["destination"], TOTAL_BTC)
    clock.advance(timedelta(minutes=15))
    # A read before the watcher's next look does not expire it: the payment may be on its way.
    assert (await buyer.track(order["token"]))["status"] == "awaiting_payment"
    await worker_pass(sessionmaker)
    view = await buyer.track(order["token"])
    assert view["status"] == "awaiting_payment"
    assert view["payment"]["state"] == "pending"
    clock.advance(timedelta(hours=1))  # confirmations take their time; the order waits for them
    chain.confirm(txid)
    chain.mine(1)
    await worker_pass(sessionmaker)
    assert (await buyer.track(order["token"]))["status"] == "funded"


async def test_payment_to_the_address_of_a_refreshed_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    old_address = order["payment"]["destination"]
    await worker_pass(sessionmaker, after=timedelta(minutes=16))
    r = await client.post(f"/api/v1/stores/shop/orders/{order['token']}/refresh")
    assert r.status_code == 200, r.text
    new_address = r.json()["payment"]["destination"]
    assert new_address == BIP84_RECEIVE[1]
    assert old_address == BIP84_RECEIVE[0]

    chain.pay(old_address, TOTAL_BTC, confirmed=True)
    chain.mine(1)
    await worker_pass(sessionmaker, after=timedelta(minutes=3))
    view = await operator_order(client, order["number"])
    assert view["status"] == "awaiting_payment"  # not funded at the old instruction's rate
    assert view["attention_reason"] == (
        f"payment of {TOTAL_BTC} BTC to an address replaced when the order was refreshed"
    )
    assert view["payment"]["destination"] == new_address
    assert view["payment"]["received_amount"] == "0.00000000"

    chain.pay(new_address, TOTAL_BTC, confirmed=True)
    chain.mine(1)
    await worker_pass(sessionmaker)
    assert (await buyer.track(order["token"]))["status"] == "funded"


async def test_a_vanished_unconfirmed_payment_stops_counting(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    txid = chain.pay(order["payment"]["destination"], TOTAL_BTC)
    await worker_pass(sessionmaker)
    assert (await buyer.track(order["token"]))["payment"]["received_amount"] == TOTAL_BTC
    chain.drop(txid)  # replaced by fee or evicted
    await worker_pass(sessionmaker)
    view = await operator_order(client, order["number"])
    assert view["payment"]["received_amount"] == "0.00000000"
    assert view["payment"]["state"] == "pending"
    assert [e["type"] for e in view["events"]][-1] == "payment_dropped"
    await worker_pass(sessionmaker, after=timedelta(minutes=16))
    assert (await buyer.track(order["token"]))["status"] == "expired"


async def test_operator_is_warned_past_the_gap_limit(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain, gap_limit=2)])
    buyer = Buyer(client, store="shop")
    orders = [await buyer.order(method="btc") for _ in range(3)]
    r = await client.get("/api/v1/stores/shop/admin/payment-methods", headers=SHOP_ADMIN)
    assert r.status_code == 200, r.text
    [method] = r.json()["items"]
    assert method["wallet"]["unused_addresses"] == 3
    assert method["wallet"]["next_index"] == 3
    assert any("gap limit of 2" in w for w in method["warnings"])

    chain.pay(orders[2]["payment"]["destination"], TOTAL_BTC)
    await worker_pass(sessionmaker)
    [method] = (await client.get("/api/v1/stores/shop/admin/payment-methods", headers=SHOP_ADMIN)).json()[
        "items"
    ]
    assert method["wallet"]["unused_addresses"] == 0
    assert method["wallet"]["last_used_index"] == 2
    assert method["warnings"] == []


async def test_unreachable_explorer_makes_the_method_not_ready(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    chain.down = True
    await shop(sessionmaker, [onchain_method(chain)])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["payment_methods"][0]["ready"] is False
    assert store["payment_methods"][0]["reason"] == "esplora_unreachable"
    assert store["guest_checkout"] == {"available": False, "reason": "no_ready_payment_method"}


async def test_http_rate_source_is_parsed_exactly_cached_and_refused_when_stale(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    chain: Chain,
    rate_feed: RateFeed,
) -> None:
    method = onchain_method(
        chain, rate=None, rate_url=rate_feed.url, rate_path="bitcoin.eur", rate_max_age_seconds=300
    )
    await shop(sessionmaker, [method])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    expected = (Decimal("19.40") / Decimal("50000.12")).quantize(Decimal("0.00000001"), rounding=ROUND_UP)
    assert order["payment"]["amount"] == str(expected)
    [row] = await instructions(sessionmaker, order["number"])
    assert row.rate == Decimal("50000.12")  # the JSON number read as a decimal, not a float
    hits = rate_feed.hits
    await buyer.order(method="btc")
    assert rate_feed.hits == hits  # cached

    rate_feed.status = 503
    clock.advance(timedelta(seconds=301))
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["payment_methods"][0]["reason"] == "rate_unavailable"
    await RATES.settle()
    await PROBES.settle()  # background probes finish here, not whenever a request yields
    assert (await client.get("/api/v1/stores/shop")).json()["guest_checkout"]["available"] is False

    rate_feed.status = 200
    clock.advance(timedelta(seconds=61))
    await client.get("/api/v1/stores/shop")  # serves the last result, starts a refresh in the background
    await RATES.settle()
    await PROBES.settle()
    assert (await client.get("/api/v1/stores/shop")).json()["payment_methods"][0]["ready"] is True


def test_store_file_errors_name_the_setting() -> None:
    bad = {
        "id": "btc",
        "kind": "onchain",
        "label": "Bitcoin",
        "settings": {"xpub": "zpub-nope", "esplora_url": "x"},
    }
    with pytest.raises(ValidationError) as caught:
        demo_config(payment_methods=[bad])
    error = caught.value.errors()[0]
    assert error["loc"] == ("payment_methods", 0, "settings")
    assert "esplora_url" in error["msg"]
    assert "zpub-nope" not in str(caught.value)


async def test_a_reorg_that_takes_confirmations_back_is_recorded_and_flags_the_funded_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    txid = chain.pay(order["payment"]["destination"], TOTAL_BTC)
    chain.confirm(txid)
    chain.mine(1)
    await worker_pass(sessionmaker)
    assert (await buyer.track(order["token"]))["status"] == "funded"
    assert (await attention(client)) == {}

    chain.reorg(txid)  # its block is orphaned: back in the mempool, 0 confirmations
    await worker_pass(sessionmaker, after=timedelta(minutes=3))  # a funded order's address: idle pace
    seen = await operator_order(client, order["number"])
    [reorg] = [e for e in seen["events"] if e["type"] == "payment_reorg"]
    assert reorg["data"] == {"reference": f"{txid}:0", "confirmations_before": 2, "confirmations": 0}
    assert seen["status"] == "funded"
    assert seen["payment"]["confirmations"] == 0
    assert "chain reorganisation" in (await attention(client))[order["number"]]

    chain.confirm(txid)  # mined again: counted once, confirmations grow back
    await worker_pass(sessionmaker, after=timedelta(minutes=3))
    again = await operator_order(client, order["number"])
    assert again["payment"]["confirmations"] == 1
    assert again["payment"]["received_amount"] == TOTAL_BTC
    assert len([e for e in again["events"] if e["type"] == "payment_reorg"]) == 1


async def test_a_payment_orphaned_out_of_the_chain_is_recorded(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], chain: Chain
) -> None:
    await shop(sessionmaker, [onchain_method(chain)])
    buyer = Buyer(client, store="shop")
    order = await buyer.order(method="btc")
    txid = chain.pay(order["payment"]["destination"], TOTAL_BTC)
    chain.confirm(txid)
    chain.mine(1)
    await worker_pass(sessionmaker)
    chain.reorg(txid, evicted=True)  # double-spent in the winning chain: nowhere to be seen
    await worker_pass(sessionmaker, after=timedelta(minutes=3))
    seen = await operator_order(client, order["number"])
    assert [e["data"]["confirmations"] for e in seen["events"] if e["type"] == "payment_reorg"] == [0]
    assert order["number"] in await attention(client)
