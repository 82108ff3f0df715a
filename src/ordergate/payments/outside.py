"""Calls to outside payment services (BTCPay, Stripe, esplora, rate sources): one HTTP client
shape and one set of timeouts for every caller. The client is opened by whoever runs the call,
never inside a database transaction, and handed to the provider.

httpx is imported by the functions that call out, on their first call, not when the payment modules
are: a web process serving a store without an outside method never loads it (some 2 MB of memory).
tests/test_startup_imports.py holds `create_app()` to that."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# In the background (readiness probes, exchange rates): short, nobody waits on them.
PROBE_TIMEOUT = 3.0
# Opening an invoice or PaymentIntent while the buyer's page waits, and the worker's payment watch.
CALL_TIMEOUT = 10.0


def outside_client(timeout: float) -> httpx.AsyncClient:
    """A client for one batch of calls; redirects are not followed (httpx's default), so a provider
    URL cannot send our credentials elsewhere."""
    import httpx

    return httpx.AsyncClient(timeout=timeout)
