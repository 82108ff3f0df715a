"""Payment test fixtures: local servers for the outside services, stores that use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ordergate.payments.rates import RATES
from ordergate.payments.readiness import PROBES
from tests.payments.servers import Btcpay, Chain, RateFeed, ServerThread, Stripe

# BIP84's published test vector (mnemonic "abandon ... about"), account 0.
BIP84_ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3Ef"
    "H1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
BIP84_RECEIVE = ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"]
BIP84_CHANGE_0 = "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[str, Any]]:
    chain, rates, btcpay, stripe = Chain(), RateFeed(), Btcpay(), Stripe()
    threads = {
        "chain": ServerThread(chain.app()).start(),
        "rates": ServerThread(rates.app()).start(),
        "btcpay": ServerThread(btcpay.app()).start(),
        "stripe": ServerThread(stripe.app()).start(),
    }
    yield {"chain": chain, "rates": rates, "btcpay": btcpay, "stripe": stripe, "threads": threads}
    for thread in threads.values():
        thread.stop()
    for thread in threads.values():
        thread.join()


@pytest.fixture
async def fresh_caches() -> Any:
    await PROBES.settle()
    await RATES.settle()
    PROBES.clear()
    RATES.clear()
    yield
    await PROBES.settle()
    await RATES.settle()


@pytest.fixture
def chain(_servers: dict[str, Any], fresh_caches: None) -> Chain:
    server: Chain = _servers["chain"]
    server.reset()
    server.url = _servers["threads"]["chain"].url
    return server


@pytest.fixture
def rate_feed(_servers: dict[str, Any], fresh_caches: None) -> RateFeed:
    server: RateFeed = _servers["rates"]
    server.reset()
    server.url = _servers["threads"]["rates"].url + "/simple/price"
    return server


@pytest.fixture
def btcpay(_servers: dict[str, Any], fresh_caches: None) -> Btcpay:
    server: Btcpay = _servers["btcpay"]
    server.reset()
    server.url = _servers["threads"]["btcpay"].url
    return server


@pytest.fixture
def stripe(_servers: dict[str, Any], fresh_caches: None) -> Stripe:
    server: Stripe = _servers["stripe"]
    server.reset()
    server.url = _servers["threads"]["stripe"].url
    return server
