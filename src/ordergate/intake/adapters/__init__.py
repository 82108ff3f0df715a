"""Channel adapters: each verifies its channel's signature and maps its payload to the canonical order."""

from __future__ import annotations

from ordergate.intake.adapters.base import Adapter
from ordergate.intake.adapters.csv import CsvAdapter
from ordergate.intake.adapters.generic import GenericAdapter
from ordergate.intake.adapters.shopify import ShopifyAdapter
from ordergate.intake.adapters.woo import WooAdapter

ADAPTERS: dict[str, Adapter] = {
    a.kind: a for a in (ShopifyAdapter(), WooAdapter(), GenericAdapter(), CsvAdapter())
}


def adapter_for(kind: str) -> Adapter:
    return ADAPTERS[kind]
