"""The load driver: two HTTP clients (raw keep-alive over httptools, or httpx) and the timed phases
that guest buyers, order placers and tracking readers run against a server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httptools
import httpx

DELIVERY = {
    "name": "Ada Lovelace",
    "address_line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
REQUEST_TIMEOUT = 30.0

# Route names as the server's route templates say them (under /api/v1/stores/{store}).
OPEN = "POST /checkouts"
PATCH = "PATCH /checkouts/{id}"
QUOTE = "POST /checkouts/{id}/quote"
ORDER = "POST /checkouts/{id}/orders"
TRACK = "GET /orders/{token}"
CHECKOUT_ROUTES = (OPEN, PATCH, QUOTE, ORDER, TRACK)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client(Protocol):
    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class HttpxClient:
    """httpx.AsyncClient behind the driver's interface (also over an ASGI transport, for the smoke test)."""

    def __init__(self, client: httpx.AsyncClient, *, owned: bool = False):
        self.client, self.owned = client, owned

    @classmethod
    def connect(cls, host: str, port: int, connections: int) -> HttpxClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        client = httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=limits, timeout=REQUEST_TIMEOUT)
        return cls(client, owned=True)

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        response = await self.client.request(method, path, json=json, headers=headers)
        return Reply(response.status_code, response.content)

    async def aclose(self) -> None:
        if self.owned:
            await self.client.aclose()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request in flight, parsed by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Reply] | None = None
        self.chunks: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:  # small requests go out at once, never held back for an ACK (Nagle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        reply = Reply(self.parser.get_status_code(), b"".join(self.chunks))
        self.chunks = []
        if not self.parser.should_keep_alive():
            self.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(reply)

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def send(self, data: bytes) -> Reply:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


class RawClient:
    """A pool of raw keep-alive connections to one host: a few microseconds of driver CPU per request
    where httpx spends far more, so the driver is not the bottleneck on a shared 2-core machine."""

    def __init__(self, host: str, port: int, connections: int):
        self.host, self.port = host, port
        self.prefix = f"Host: {host}:{port}\r\n"
        self.idle: asyncio.Queue[_Connection | None] = asyncio.Queue()
        for _ in range(connections):
            self.idle.put_nowait(None)  # a free slot: connect on first use
        self.all: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, self.host, self.port)
        self.all.append(conn)
        return conn

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}"
        body = b""
        if json is not None:
            body = _dumps(json)
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif method in ("POST", "PUT", "PATCH"):
            head += "Content-Length: 0\r\n"
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        data = (head + "\r\n").encode() + body
        conn = await self.idle.get()
        try:
            if conn is None or conn.closed:
                conn = await self._connect()
            async with asyncio.timeout(REQUEST_TIMEOUT):
                reply = await conn.send(data)
        except BaseException:
            if conn is not None:
                conn.close()
            self.idle.put_nowait(None)
            raise
        self.idle.put_nowait(conn)
        return reply

    async def aclose(self) -> None:
        for conn in self.all:
            conn.close()
        self.all.clear()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def connect(kind: str, host: str, port: int, connections: int) -> Client:
    if kind == "httpx":
        return HttpxClient.connect(host, port, connections)
    if kind == "raw":
        return RawClient(host, port, connections)
    raise ValueError(f"unknown client {kind!r}: raw or httpx")


# --- recording -------------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies per route, whole-checkout times, and every unexpected answer (counted, first one kept)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    checkouts: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    first_failure: dict[str, str] = field(default_factory=dict)

    async def call(
        self,
        client: Client,
        route: str,
        method: str,
        path: str,
        *,
        expect: int,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply | None:
        started = time.perf_counter()
        try:
            reply = await client.request(method, path, json=json, headers=headers)
        except (OSError, TimeoutError, httpx.HTTPError) as exc:
            self.fail(f"{route}: {type(exc).__name__}", str(exc))
            return None
        self.latencies[route].append(time.perf_counter() - started)
        if reply.status != expect:
            self.fail(f"{route}: HTTP {reply.status}", reply.body[:300].decode(errors="replace"))
            return None
        return reply

    def fail(self, key: str, detail: str) -> None:
        self.failures[key] += 1
        self.first_failure.setdefault(key, detail)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of seconds, in milliseconds; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "mean_ms": sum(values) / len(values) * 1000 if values else float("nan"),
    }


@dataclass
class PhaseResult:
    name: str
    workers: int
    completed: int
    elapsed: float
    recorder: Recorder
    tokens: list[str] = field(default_factory=list)
    driver_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0


async def drive(
    workers: int,
    count: int,
    duration: float,
    unit: Callable[[int], Awaitable[bool]],
    *,
    recorder: Recorder,
    max_failures: int = 50,
) -> tuple[int, float]:
    """Run `unit(n)` for n = 0, 1, ... on `workers` concurrent tasks until `count` were started or
    `duration` seconds passed (or too many requests failed); returns (units that succeeded, seconds)."""
    issued = done = 0
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        nonlocal issued, done
        while issued < count and time.perf_counter() < deadline and recorder.failed <= max_failures:
            n = issued
            issued += 1
            if await unit(n):
                done += 1

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    return done, time.perf_counter() - started


# --- what buyers do --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    """What a buyer reads before checking out: the store's products and current policy versions."""

    slug: str
    skus: tuple[str, ...]
    policies: tuple[str, ...]
    payment_method: str = "sandbox"

    @property
    def base(self) -> str:
        return f"/api/v1/stores/{self.slug}"


async def discover(client: Client, slug: str = "demo", payment_method: str = "sandbox") -> Shop:
    store = await client.request("GET", f"/api/v1/stores/{slug}")
    products = await client.request("GET", f"/api/v1/stores/{slug}/products")
    if store.status != 200 or products.status != 200:
        raise RuntimeError(f"store {slug!r} not served: HTTP {store.status}/{products.status}")
    info = store.json()
    if not info["guest_checkout"]["available"]:
        raise RuntimeError(f"store {slug!r} takes no guest orders: {info['guest_checkout']['reason']}")
    skus = tuple(p["sku"] for p in products.json()["items"] if p["available"])
    policies = tuple(f"{p['id']}@{p['version']}" for p in info["policies"])
    return Shop(slug, skus, policies, payment_method)


def _sku(shop: Shop, n: int) -> str:
    # Buyers spread over the catalogue, as real ones do; each order still takes a hot product row's lock.
    return shop.skus[n % len(shop.skus)]


async def guest_checkout(client: Client, shop: Shop, rec: Recorder, n: int) -> str | None:
    """One guest's whole checkout, timed as one: open, contact+delivery, quote, order, and the first
    tracking read (issue 16's "whole guest checkout"). Returns the order token, or None when any
    step answered unexpectedly."""
    base = shop.base
    started = time.perf_counter()
    reply = await rec.call(
        client,
        OPEN,
        "POST",
        f"{base}/checkouts",
        expect=201,
        json={"items": [{"sku": _sku(shop, n), "quantity": 1}]},
    )
    if reply is None:
        return None
    checkout_id = reply.json()["id"]
    contact = {"email": f"buyer-{n}@example.com"}
    path = f"{base}/checkouts/{checkout_id}"
    if (
        await rec.call(
            client, PATCH, "PATCH", path, expect=200, json={"contact": contact, "delivery": DELIVERY}
        )
        is None
    ):
        return None
    if await rec.call(client, QUOTE, "POST", f"{path}/quote", expect=200) is None:
        return None
    token = await place_order(client, shop, rec, checkout_id)
    if token is None:
        return None
    if await rec.call(client, TRACK, "GET", f"{base}/orders/{token}", expect=200) is None:
        return None
    rec.checkouts.append(time.perf_counter() - started)
    return token


async def place_order(client: Client, shop: Shop, rec: Recorder, checkout_id: str) -> str | None:
    reply = await rec.call(
        client,
        ORDER,
        "POST",
        f"{shop.base}/checkouts/{checkout_id}/orders",
        expect=201,
        json={"payment_method": shop.payment_method, "accepted_policies": list(shop.policies)},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    return None if reply is None else str(reply.json()["token"])


async def ready_checkout(client: Client, shop: Shop, rec: Recorder, n: int) -> str | None:
    """A checkout opened with contact and delivery in one request: ready to become an order."""
    body = {
        "items": [{"sku": _sku(shop, n), "quantity": 1}],
        "contact": {"email": f"placer-{n}@example.com"},
        "delivery": DELIVERY,
    }
    reply = await rec.call(
        client, "POST /checkouts (ready)", "POST", f"{shop.base}/checkouts", expect=201, json=body
    )
    return None if reply is None else str(reply.json()["id"])


# --- phases ----------------------------------------------------------------------------------------


async def checkout_phase(
    client: Client, shop: Shop, *, buyers: int, count: int, duration: float, name: str = "checkout"
) -> PhaseResult:
    """`buyers` concurrent guests, each doing whole checkouts back to back."""
    rec = Recorder()
    tokens: list[str] = []

    async def unit(n: int) -> bool:
        token = await guest_checkout(client, shop, rec, n)
        if token is None:
            return False
        tokens.append(token)
        return True

    cpu = time.process_time()
    done, elapsed = await drive(buyers, count, duration, unit, recorder=rec)
    return PhaseResult(name, buyers, done, elapsed, rec, tokens, time.process_time() - cpu)


async def prepare_phase(
    client: Client, shop: Shop, *, buyers: int, count: int, duration: float
) -> tuple[PhaseResult, list[str]]:
    """Up to `count` checkouts opened ready to order (contact and delivery in the opening request),
    for at most `duration` seconds: the material of the order-creation phase."""
    rec = Recorder()
    ready: list[str] = []

    async def unit(n: int) -> bool:
        checkout_id = await ready_checkout(client, shop, rec, n)
        if checkout_id is None:
            return False
        ready.append(checkout_id)
        return True

    cpu = time.process_time()
    done, elapsed = await drive(buyers, count, duration, unit, recorder=rec)
    return PhaseResult("prepare checkouts", buyers, done, elapsed, rec, [], time.process_time() - cpu), ready


async def order_phase(
    client: Client, shop: Shop, checkout_ids: list[str], *, buyers: int, duration: float
) -> PhaseResult:
    """Order creation alone: `buyers` concurrent placers turning ready checkouts into orders."""
    rec = Recorder()
    tokens: list[str] = []

    async def unit(n: int) -> bool:
        token = await place_order(client, shop, rec, checkout_ids[n])
        if token is None:
            return False
        tokens.append(token)
        return True

    cpu = time.process_time()
    done, elapsed = await drive(buyers, len(checkout_ids), duration, unit, recorder=rec)
    return PhaseResult("order creation", buyers, done, elapsed, rec, tokens, time.process_time() - cpu)


async def tracking_phase(
    client: Client, shop: Shop, tokens: list[str], *, readers: int, count: int, duration: float
) -> PhaseResult:
    """`readers` concurrent buyers reopening tracking links of existing orders."""
    if not tokens:
        raise ValueError("no orders to track")
    rec = Recorder()
    stride = 7919  # a prime: successive reads hit orders spread over the table, not neighbours

    async def unit(n: int) -> bool:
        token = tokens[(n * stride) % len(tokens)]
        return await rec.call(client, TRACK, "GET", f"{shop.base}/orders/{token}", expect=200) is not None

    cpu = time.process_time()
    done, elapsed = await drive(readers, count, duration, unit, recorder=rec)
    return PhaseResult("tracking reads", readers, done, elapsed, rec, [], time.process_time() - cpu)


async def route_phase(
    client: Client, path: str, *, connections: int, count: int, duration: float, name: str
) -> PhaseResult:
    """GET one route as fast as `connections` concurrent clients can (the bare-route ceiling)."""
    rec = Recorder()
    route = f"GET {path}"

    async def unit(n: int) -> bool:
        return await rec.call(client, route, "GET", path, expect=200) is not None

    cpu = time.process_time()
    done, elapsed = await drive(connections, count, duration, unit, recorder=rec)
    return PhaseResult(name, connections, done, elapsed, rec, [], time.process_time() - cpu)
