"""Local HTTP servers that speak the outside services' documented protocols: Esplora (address
transactions, tip height), a JSON rate API, BTCPay Server's Greenfield API (invoices, payment
methods, signed webhooks) and Stripe's API (PaymentIntents, signed events). Real sockets, served by
uvicorn on a free port in a thread; the tests drive their state directly."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import stripe as stripe_sdk
import uvicorn
from embit.networks import NETWORKS
from embit.script import Script, address_to_scriptpubkey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ordergate import clock


class ServerThread:
    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True

    def join(self) -> None:
        self.thread.join(timeout=10)


def _now() -> int:
    return int(clock.now().timestamp())


# --- Esplora -----------------------------------------------------------------------------------
# Written from Esplora's API doc (Blockstream/esplora, API.md): GET /blocks/tip/height (plain
# text), GET /address/:address/txs (up to 50 mempool then the first 25 confirmed transactions,
# newest first), GET /address/:address/txs/chain/:last_seen_txid (the next 25 confirmed), and its
# "Transaction format" (txid, version, locktime, size, weight, fee; vin[] with txid, vout, prevout,
# scriptsig(_asm), witness, is_coinbase, sequence; vout[] with scriptpubkey, scriptpubkey_asm,
# scriptpubkey_type, scriptpubkey_address, value in satoshis; status with confirmed, block_height,
# block_hash, block_time). Output scripts are the addresses' real ones (embit).


def _network_of(address: str) -> str:
    if address.startswith("bcrt1"):
        return "regtest"
    return "test" if address.startswith(("tb1", "m", "n", "2")) else "main"


def _p2wpkh_address(network: str) -> str:
    return str(Script(b"\x00\x14" + secrets.token_bytes(20)).address(NETWORKS[network]))


def _output(address: str, sats: int) -> dict[str, Any]:
    """A vout entry as Esplora gives it: the script, its asm and type, the address, satoshis."""
    script = address_to_scriptpubkey(address).data
    kind, asm = {
        b"\x00\x14": ("v0_p2wpkh", f"OP_0 OP_PUSHBYTES_20 {script[2:].hex()}"),
        b"\x00\x20": ("v0_p2wsh", f"OP_0 OP_PUSHBYTES_32 {script[2:].hex()}"),
        b"\x51\x20": ("v1_p2tr", f"OP_PUSHNUM_1 OP_PUSHBYTES_32 {script[2:].hex()}"),
        b"\xa9\x14": ("p2sh", f"OP_HASH160 OP_PUSHBYTES_20 {script[2:22].hex()} OP_EQUAL"),
        b"\x76\xa9": (
            "p2pkh",
            f"OP_DUP OP_HASH160 OP_PUSHBYTES_20 {script[3:23].hex()} OP_EQUALVERIFY OP_CHECKSIG",
        ),
    }[script[:2]]
    return {
        "scriptpubkey": script.hex(),
        "scriptpubkey_asm": asm,
        "scriptpubkey_type": kind,
        "scriptpubkey_address": address,
        "value": sats,
    }


@dataclass
class Chain:
    """An Esplora-compatible explorer over a chain the test writes."""

    url: str = ""
    tip: int = 800_000
    txs: dict[str, dict[str, Any]] = field(default_factory=dict)  # txid -> tx (insertion = time)
    down: bool = False
    requests: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.tip, self.down = 800_000, False
        self.txs.clear()
        self.requests.clear()

    def pay(
        self, address: str, btc: str | Decimal, *, confirmed: bool = False, extra_outputs: int = 0
    ) -> str:
        """Broadcast a transaction paying `btc` to `address` (in the mempool unless `confirmed`)."""
        txid = secrets.token_hex(32)
        sats = int(Decimal(str(btc)) * 100_000_000)
        network = _network_of(address)
        outputs = [_output(_p2wpkh_address(network), 12_345) for _ in range(extra_outputs)]
        outputs.append(_output(address, sats))
        spent = _output(_p2wpkh_address(network), sats + 12_345 * extra_outputs + 1410)
        self.txs[txid] = {
            "txid": txid,
            "version": 2,
            "locktime": 0,
            "vin": [
                {
                    "txid": secrets.token_hex(32),
                    "vout": 0,
                    "prevout": spent,
                    "scriptsig": "",
                    "scriptsig_asm": "",
                    "witness": ["30" + secrets.token_hex(35), "02" + secrets.token_hex(32)],
                    "is_coinbase": False,
                    "sequence": 4294967293,
                }
            ],
            "vout": outputs,
            "size": 222,
            "weight": 561,
            "fee": 1410,
            "status": {"confirmed": False},
        }
        if confirmed:
            self.confirm(txid)
        return txid

    def confirm(self, txid: str) -> None:
        """Mine a block holding `txid`."""
        self.tip += 1
        self.txs[txid]["status"] = {
            "confirmed": True,
            "block_height": self.tip,
            "block_hash": secrets.token_hex(32),
            "block_time": _now(),
        }

    def mine(self, blocks: int = 1) -> None:
        self.tip += blocks

    def reorg(self, txid: str, *, evicted: bool = False) -> None:
        """The block holding `txid` is orphaned: the tip moves back below it and the transaction
        is unconfirmed again (Esplora's status {"confirmed": false}), or gone when `evicted`."""
        height = self.txs[txid]["status"]["block_height"]
        self.tip = height - 1
        if evicted:
            del self.txs[txid]
        else:
            self.txs[txid]["status"] = {"confirmed": False}

    def drop(self, txid: str) -> None:
        """The transaction left the mempool (replaced by fee, evicted)."""
        del self.txs[txid]

    def _for(self, address: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        mine = [t for t in self.txs.values() if any(o["scriptpubkey_address"] == address for o in t["vout"])]
        mempool = [t for t in reversed(mine) if not t["status"]["confirmed"]]
        chain = sorted(
            (t for t in mine if t["status"]["confirmed"]),
            key=lambda t: t["status"]["block_height"],
            reverse=True,
        )
        return mempool, chain

    def app(self) -> Starlette:
        async def tip(request: Request) -> Response:
            self.requests.append("tip")
            if self.down:
                return PlainTextResponse("unavailable", status_code=503)
            return PlainTextResponse(str(self.tip))

        async def address_txs(request: Request) -> Response:
            self.requests.append(f"txs {request.path_params['address']}")
            if self.down:
                return PlainTextResponse("unavailable", status_code=503)
            mempool, chain = self._for(request.path_params["address"])
            return JSONResponse(mempool[:50] + chain[:25])

        async def address_chain(request: Request) -> Response:
            _, chain = self._for(request.path_params["address"])
            ids = [t["txid"] for t in chain]
            last = request.path_params["last"]
            start = ids.index(last) + 1 if last in ids else len(ids)
            return JSONResponse(chain[start : start + 25])

        return Starlette(
            routes=[
                Route("/blocks/tip/height", tip),
                Route("/address/{address}/txs", address_txs),
                Route("/address/{address}/txs/chain/{last}", address_chain),
            ]
        )


# --- a JSON rate API ---------------------------------------------------------------------------
# Written from CoinGecko's API reference (docs.coingecko.com, "Coin Price by IDs":
# GET /api/v3/simple/price?ids=bitcoin&vs_currencies=eur answers {"bitcoin": {"eur": 50000.12}},
# the price a JSON number keyed by coin id then currency), the source our rate path
# `bitcoin.eur` reads. Errors are plain status codes; the tests set `status` to produce them.


@dataclass
class RateFeed:
    url: str = ""
    body: str = '{"bitcoin": {"eur": 50000.12}}'
    status: int = 200
    hits: int = 0

    def reset(self) -> None:
        self.body, self.status, self.hits = '{"bitcoin": {"eur": 50000.12}}', 200, 0

    def app(self) -> Starlette:
        async def price(request: Request) -> Response:
            self.hits += 1
            return Response(self.body, status_code=self.status, media_type="application/json")

        return Starlette(routes=[Route("/simple/price", price)])


# --- BTCPay Server (Greenfield) ----------------------------------------------------------------
# Written from BTCPay Server's Greenfield swagger (btcpayserver/btcpayserver,
# BTCPayServer/wwwroot/swagger/v1/swagger.template.invoices.json and .webhooks.json) and its client
# models (BTCPayServer.Client/Models/InvoicePaymentMethodDataModel.cs, WebhookInvoiceEvent.cs).
# 2.x names a payment method `paymentMethodId` ("BTC-CHAIN", "BTC-LN") with its `currency`; 1.x
# said `paymentMethod` ("BTC", "BTC-LightningNetwork") and `cryptoCode`. With lazy payment methods
# (checkout.lazyPaymentMethods, or the store's setting) a method has no destination until
# POST .../invoices/{invoiceId}/payment-methods/{paymentMethodId}/activate.


@dataclass
class Btcpay:
    url: str = ""
    store_id: str = "7Qn4ZkT9Y3cGZbHs2vJm"
    api_key: str = "5f1c0e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
    webhook_secret: str = "whk-3a9c1f8e2b7d4a6c"
    rate: Decimal = Decimal("50000")
    version: str = "2.x"  # or "1.x": the shapes of payment methods and payment webhooks
    lazy: bool = False  # the store's "lazy payment methods" setting
    default_method: str = ""  # the store's default payment method ("" is on-chain)
    down: bool = False
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # invoice requests as received
    activated: list[tuple[str, str]] = field(default_factory=list)  # (invoice id, payment method id)
    auth_seen: list[str] = field(default_factory=list)
    refund_requests: list[dict[str, Any]] = field(default_factory=list)
    pull_payments: dict[str, dict[str, Any]] = field(default_factory=dict)  # PullPaymentData by id
    payouts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # PayoutData by pull payment
    refund_methods: list[str] = field(default_factory=list)  # the method each refund pays out through

    def reset(self) -> None:
        self.pull_payments.clear()
        self.payouts.clear()
        self.down, self.version, self.lazy, self.default_method = False, "2.x", False, ""
        self.refund_methods.clear()
        self.invoices.clear()
        self.created.clear()
        self.activated.clear()
        self.auth_seen.clear()
        self.refund_requests.clear()

    @property
    def onchain_id(self) -> str:
        return "BTC-CHAIN" if self.version == "2.x" else "BTC"

    @property
    def lightning_id(self) -> str:
        return "BTC-LN" if self.version == "2.x" else "BTC-LightningNetwork"

    def _authorised(self, request: Request) -> bool:
        self.auth_seen.append(request.headers.get("authorization", ""))
        return request.headers.get("authorization") == f"token {self.api_key}"

    def _btc(self, invoice: dict[str, Any]) -> Decimal:
        return (Decimal(invoice["amount"]) / self.rate).quantize(Decimal("0.00000001"))

    def _method(self, inv: dict[str, Any], method_id: str, destination: str) -> dict[str, Any]:
        active = method_id in inv["active"]
        due = self._btc(inv)
        paid = (
            sum((Decimal(p["value"]) for p in inv["payments"]), Decimal(0))
            if method_id == self.onchain_id
            else 0
        )
        method: dict[str, Any] = {
            "activated": active,
            "destination": destination if active else None,
            "paymentLink": (f"bitcoin:{destination}?amount={due}" if method_id == self.onchain_id else None)
            if active
            else None,
            "rate": f"{self.rate:.2f}",
            "paymentMethodPaid": str(paid),
            "totalPaid": str(paid),
            "due": str(due - paid) if active else "0",
            "amount": str(due) if active else "0",
            "payments": inv["payments"] if method_id == self.onchain_id else [],
            "additionalData": {},
        }
        if self.version == "2.x":
            method |= {"paymentMethodId": method_id, "currency": "BTC", "paymentMethodFee": "0.0"}
        else:
            method |= {"paymentMethod": method_id, "cryptoCode": "BTC", "networkFee": "0.0"}
        return method

    def payment_methods(self, invoice_id: str) -> list[dict[str, Any]]:
        inv = self.invoices[invoice_id]
        return [
            self._method(inv, self.onchain_id, inv["address"]),
            self._method(inv, self.lightning_id, inv["bolt11"]),
        ]

    async def _invoices(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        if not self._authorised(request):
            return JSONResponse({"code": "unauthenticated", "message": "Authentication is required"}, 401)
        if request.path_params["store_id"] != self.store_id:
            return JSONResponse({"code": "store-not-found"}, status_code=404)
        if request.method == "GET":
            public = [self._public(i) for i in self.invoices.values()]
            return JSONResponse(public[: int(request.query_params.get("take", 50))])
        body = await request.json()
        self.created.append(body)
        invoice_id = secrets.token_urlsafe(16)
        checkout = body.get("checkout", {})
        minutes = int(checkout.get("expirationMinutes", 15))
        lazy = checkout.get("lazyPaymentMethods")
        invoice = {
            "id": invoice_id,
            "storeId": self.store_id,
            "amount": str(body["amount"]),
            "currency": body["currency"],
            "type": "Standard",
            "checkoutLink": f"http://btcpay.test/i/{invoice_id}",
            "createdTime": _now(),
            "expirationTime": _now() + minutes * 60,
            "monitoringExpiration": _now() + minutes * 60 + 3600,
            "status": "New",
            "additionalStatus": "None",
            "archived": False,
            "metadata": body.get("metadata", {}),
            "checkout": checkout,
            "address": "bc1q" + secrets.token_hex(19),
            "bolt11": "lnbc" + secrets.token_hex(40),
            "payments": [],
            # Without lazy payment methods every method is active from the start.
            "active": set()
            if (self.lazy if lazy is None else lazy)
            else {self.onchain_id, self.lightning_id},
        }
        self.invoices[invoice_id] = invoice
        return JSONResponse(self._public(invoice))

    async def _methods(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        if not self._authorised(request):
            return JSONResponse({"code": "unauthenticated"}, status_code=401)
        invoice_id = request.path_params["invoice_id"]
        if invoice_id not in self.invoices:
            return JSONResponse({"code": "invoice-not-found"}, status_code=404)
        return JSONResponse(self.payment_methods(invoice_id))

    async def _activate(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": "unauthenticated"}, status_code=401)
        invoice_id, method_id = request.path_params["invoice_id"], request.path_params["method_id"]
        if invoice_id not in self.invoices or method_id not in (self.onchain_id, self.lightning_id):
            return JSONResponse({"code": "invoice-not-found"}, status_code=404)
        self.activated.append((invoice_id, method_id))
        self.invoices[invoice_id]["active"].add(method_id)
        return Response(status_code=200)

    def app(self) -> Starlette:
        invoice = "/api/v1/stores/{store_id}/invoices/{invoice_id}"
        return Starlette(
            routes=[
                Route("/api/v1/stores/{store_id}/invoices", self._invoices, methods=["GET", "POST"]),
                Route(f"{invoice}/payment-methods", self._methods),
                Route(f"{invoice}/payment-methods/{{method_id}}/activate", self._activate, methods=["POST"]),
                Route(f"{invoice}/refund", self.refund, methods=["POST"]),
                Route("/api/v1/pull-payments/{pull_id}", self._pull_payment),
                Route("/api/v1/pull-payments/{pull_id}/payouts", self._payouts),
            ]
        )

    @staticmethod
    def _public(invoice: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in invoice.items() if k not in ("address", "bolt11", "payments", "active")}

    # POST /api/v1/stores/{storeId}/invoices/{invoiceId}/refund, as Greenfield's swagger and
    # BTCPay's GreenfieldInvoiceController describe it: body {name?, description?, paymentMethod
    # (1.x) or payoutMethodId (2.x), refundVariant (RateThen | CurrentRate | Fiat | OverpaidAmount
    # | Custom), customAmount and customCurrency (Custom only), subtractPercentage?}; answers the
    # pull payment the buyer claims (PullPaymentData: id, name, description, currency, amount,
    # period, archived, autoApproveClaims, viewLink). An invoice not settled is 400
    # {code: "non-refundable"}; bad fields are 422 [{path, message}].
    async def refund(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        if not self._authorised(request):
            return JSONResponse({"code": "unauthenticated"}, status_code=401)
        invoice = self.invoices.get(request.path_params["invoice_id"])
        if request.path_params["store_id"] != self.store_id or invoice is None:
            return JSONResponse({"code": "invoice-not-found", "message": "The invoice was not found"}, 404)
        body = await request.json()
        self.refund_requests.append(body)
        if invoice["status"] != "Settled":
            return JSONResponse({"code": "non-refundable", "message": "Cannot refund this invoice"}, 400)
        problems = []
        # 2.x reads `payoutMethodId` (renamed from `paymentMethod`, btcpayserver#6198) and, when it
        # is missing, refunds through the invoice's default payment method (btcpayserver#6315).
        method = (
            body.get("payoutMethodId") or self.default_method or self.onchain_id
            if self.version == "2.x"
            else body.get("paymentMethod")
        )
        if method not in (self.onchain_id, self.lightning_id):
            problems.append(
                {
                    "path": "PayoutMethodId" if self.version == "2.x" else "PaymentMethod",
                    "message": "Please select one of the payment methods which were available for "
                    "the original invoice",
                }
            )
        variant = body.get("refundVariant")
        if variant not in ("RateThen", "CurrentRate", "Fiat", "OverpaidAmount", "Custom"):
            problems.append({"path": "RefundVariant", "message": "Please select a valid refund option"})
        if variant == "Custom" and (Decimal(str(body.get("customAmount") or 0)) <= 0):
            problems.append({"path": "CustomAmount", "message": "Amount must be greater than 0"})
        if variant == "Custom" and not body.get("customCurrency"):
            problems.append({"path": "CustomCurrency", "message": "Invalid currency"})
        if problems:
            return JSONResponse(problems, status_code=422)
        pull_id = secrets.token_urlsafe(20)
        amount = str(body["customAmount"]) if variant == "Custom" else invoice["amount"]
        self.pull_payments[pull_id] = {
            "id": pull_id,
            "name": body.get("name") or f"Refund {invoice['id']}",
            "description": body.get("description"),
            "currency": body.get("customCurrency") or invoice["currency"],
            "amount": amount,
            "period": None,
            "BOLT11Expiration": "30",
            "archived": False,
            "autoApproveClaims": False,
            "startsAt": _now(),
            "expiresAt": None,
            "viewLink": f"http://btcpay.test/pull-payments/{pull_id}",
        }
        self.payouts[pull_id] = []
        self.refund_methods.append(str(method))
        return JSONResponse(self.pull_payments[pull_id])

    # GET /api/v1/pull-payments/{pullPaymentId} and .../payouts (Greenfield swagger, "Pull payments
    # (Public)": no API key): PullPaymentData, and the PayoutData list without cancelled payouts
    # unless includeCancelled=true. PayoutData per version: 2.x originalCurrency/originalAmount
    # (the pull payment's currency), payoutCurrency/payoutAmount, payoutMethodId; 1.x amount
    # (the pull payment's currency), paymentMethod, cryptoCode, paymentMethodAmount.
    async def _pull_payment(self, request: Request) -> Response:
        found = self.pull_payments.get(request.path_params["pull_id"])
        if self.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        return JSONResponse(found) if found else Response(status_code=404)

    async def _payouts(self, request: Request) -> Response:
        pull_id = request.path_params["pull_id"]
        if self.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        if pull_id not in self.pull_payments:
            return Response(status_code=404)
        cancelled = request.query_params.get("includeCancelled") == "true"
        return JSONResponse([p for p in self.payouts[pull_id] if cancelled or p["state"] != "Cancelled"])

    def pay_out(self, pull_id: str, amount: str, state: str = "Completed") -> dict[str, Any]:
        """The buyer claimed (part of) a refund and the store's payout went this far."""
        pull = self.pull_payments[pull_id]
        btc = str((Decimal(amount) / self.rate).quantize(Decimal("0.00000001")))
        common = {
            "id": secrets.token_urlsafe(16),
            "revision": 0,
            "pullPaymentId": pull_id,
            "date": str(_now()),
            "destination": "bcrt1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "state": state,
            "paymentProof": None,
        }
        shaped = (
            {
                "originalCurrency": pull["currency"],
                "originalAmount": amount,
                "payoutCurrency": "BTC",
                "payoutAmount": btc,
                "payoutMethodId": "BTC-CHAIN",
                "metadata": {},
            }
            if self.version == "2.x"
            else {"amount": amount, "paymentMethod": "BTC", "cryptoCode": "BTC", "paymentMethodAmount": btc}
        )
        payout = {**common, **shaped}
        self.payouts[pull_id].append(payout)
        return payout

    # The webhooks BTCPay would send: body and headers, signed as BTCPay signs them.

    def delivery(self, type_: str, invoice_id: str, **fields: Any) -> tuple[bytes, dict[str, str]]:
        if type_ in ("InvoiceSettled", "InvoiceProcessing", "InvoiceExpired", "InvoiceInvalid") and (
            invoice_id in self.invoices
        ):
            self.invoices[invoice_id]["status"] = type_.removeprefix("Invoice")
        delivery_id = secrets.token_urlsafe(12)
        payload = {
            "deliveryId": delivery_id,
            "webhookId": "Wh1",
            "originalDeliveryId": delivery_id,
            "isRedelivery": False,
            "type": type_,
            "timestamp": _now(),
            "storeId": self.store_id,
            "invoiceId": invoice_id,
            "metadata": self.invoices.get(invoice_id, {}).get("metadata", {}),
            **fields,
        }
        return self.sign(json.dumps(payload).encode())

    def redeliver(self, body: bytes) -> tuple[bytes, dict[str, str]]:
        payload = json.loads(body)
        payload["deliveryId"] = secrets.token_urlsafe(12)
        payload["isRedelivery"] = True
        return self.sign(json.dumps(payload).encode())

    def sign(self, body: bytes, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        mac = hmac.new((secret or self.webhook_secret).encode(), body, hashlib.sha256).hexdigest()
        return body, {"BTCPay-Sig": f"sha256={mac}", "Content-Type": "application/json"}

    def _method_field(self) -> dict[str, str]:
        # WebhookInvoiceReceivedPaymentEvent: `paymentMethodId` in 2.x, `paymentMethod` in 1.x.
        key = "paymentMethodId" if self.version == "2.x" else "paymentMethod"
        return {key: self.onchain_id}

    def payment(
        self, invoice_id: str, btc: str, *, status: str = "Processing", after_expiration: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        inv = self.invoices[invoice_id]
        payment = {
            "id": f"{secrets.token_hex(32)}-0",
            "receivedDate": _now(),
            "value": btc,
            "fee": "0.00000141",
            "status": status,
            "destination": inv["address"],
        }
        inv["payments"].append(payment)
        return self.delivery(
            "InvoiceReceivedPayment",
            invoice_id,
            afterExpiration=after_expiration,
            **self._method_field(),
            payment=payment,
        )

    def payment_settled(self, invoice_id: str, payment_id: str) -> tuple[bytes, dict[str, str]]:
        inv = self.invoices[invoice_id]
        payment = next(p for p in inv["payments"] if p["id"] == payment_id)
        payment["status"] = "Settled"
        return self.delivery(
            "InvoicePaymentSettled",
            invoice_id,
            afterExpiration=False,
            **self._method_field(),
            payment=payment,
        )


def _stripe_error(status: int, kind: str, message: str) -> Response:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


# --- Stripe ------------------------------------------------------------------------------------
# Written from Stripe's API reference (docs.stripe.com/api/payment_intents/create and /object, the
# Event object, docs.stripe.com/webhooks#verify-events) and its currencies page
# (docs.stripe.com/currencies: zero-decimal, three-decimal and special cases). Events are built as
# the official stripe-python SDK's Event objects and signed with its WebhookSignature helper.

# Stripe refuses charges its currency rules do not allow (docs.stripe.com/currencies#special-cases).
STRIPE_WHOLE_UNITS_IN_CENTS = {"isk", "ugx"}
STRIPE_THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}


@dataclass
class Stripe:
    url: str = ""
    secret_key: str = "sk_test_51OrderGateLocalTestKey000000"
    webhook_secret: str = "whsec_localTestSigningSecret0000"
    down: bool = False
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_idempotency: dict[str, str] = field(default_factory=dict)
    forms: list[dict[str, str]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # the Stripe-Version header of each request
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (form, headers) of each refund request
    refund_requests: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)
    refund_status: str = "succeeded"

    def reset(self) -> None:
        self.down = False
        self.intents.clear()
        self.by_idempotency.clear()
        self.forms.clear()
        self.versions.clear()
        self.refunds.clear()
        self.refund_requests.clear()
        self.refund_status = "succeeded"

    def app(self) -> Starlette:
        def authorised(request: Request) -> bool:
            return request.headers.get("authorization") == f"Bearer {self.secret_key}"

        def error(status: int, kind: str, message: str, code: str | None = None) -> Response:
            body: dict[str, Any] = {"type": kind, "message": message}
            if code:
                body["code"] = code
            return JSONResponse({"error": body}, status_code=status)

        async def intents(request: Request) -> Response:
            self.versions.append(request.headers.get("stripe-version", ""))
            if self.down:
                return error(500, "api_error", "unavailable")
            if not authorised(request):
                return error(401, "invalid_request_error", "Invalid API Key provided")
            if request.method == "GET":
                data = list(self.intents.values())[: int(request.query_params.get("limit", 10))]
                return JSONResponse(
                    {"object": "list", "url": "/v1/payment_intents", "has_more": False, "data": data}
                )
            form = dict(await request.form())
            key = request.headers.get("idempotency-key")
            if key and key in self.by_idempotency:
                return JSONResponse(self.intents[self.by_idempotency[key]])
            self.forms.append({k: str(v) for k, v in form.items()})
            amount, currency = int(str(form["amount"])), str(form["currency"])
            if currency in STRIPE_WHOLE_UNITS_IN_CENTS and amount % 100:
                return error(
                    400,
                    "invalid_request_error",
                    f"Invalid amount. Currency {currency.upper()} has become effectively zero-decimal and "
                    "charged amounts must be evenly divisible by 100.",
                    "invalid_charge_amount_no_decimal_compatible",
                )
            if currency in STRIPE_THREE_DECIMAL and amount % 10:
                return error(400, "invalid_request_error", "Invalid amount: the last digit must be 0.")
            intent_id = "pi_" + secrets.token_hex(12)
            metadata = {k[9:-1]: str(v) for k, v in form.items() if k.startswith("metadata[")}
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": 0,
                "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
                "capture_method": "automatic_async",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
                "confirmation_method": "automatic",
                "created": _now(),
                "currency": currency,
                "description": str(form.get("description") or "") or None,
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": metadata,
                "payment_method": None,
                "payment_method_types": ["card"],
                "status": "requires_payment_method",
            }
            self.intents[intent_id] = intent
            if key:
                self.by_idempotency[key] = intent_id
            return JSONResponse(intent)

        return Starlette(
            routes=[
                Route("/v1/payment_intents", intents, methods=["GET", "POST"]),
                Route("/v1/refunds", self.refund_route, methods=["POST"]),
            ]
        )

    # POST /v1/refunds as Stripe's API reference describes it ("Create a refund"): form-encoded
    # payment_intent, amount (minor units, default the rest), reason (duplicate | fraudulent |
    # requested_by_customer), metadata[...]; answers the Refund object (id re_..., object
    # "refund", amount, currency, payment_intent, status, reason, metadata, created). More than
    # is left to refund is an invalid_request_error (400); an Idempotency-Key seen before gets
    # the same refund back.
    async def refund_route(self, request: Request) -> Response:
        if self.down:
            return _stripe_error(500, "api_error", "unavailable")
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return _stripe_error(401, "invalid_request_error", "Invalid API Key provided")
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.refund_requests.append((form, {k.lower(): v for k, v in request.headers.items()}))
        key = request.headers.get("idempotency-key")
        if key and key in self.by_idempotency:
            return JSONResponse(self.refunds[self.by_idempotency[key]])
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _stripe_error(
                400, "invalid_request_error", f"No such payment_intent: '{form.get('payment_intent')}'"
            )
        if form.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            return _stripe_error(400, "invalid_request_error", "Invalid reason")
        done = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] not in ("failed", "canceled")
        )
        left = intent["amount_received"] - done
        amount = int(form.get("amount", left))
        if amount > left or amount <= 0:
            return _stripe_error(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount ({left})",
            )
        refund_id = "re_" + secrets.token_hex(12)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": self.refund_status,
            "reason": form.get("reason"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "created": _now(),
        }
        self.refunds[refund_id] = refund
        if key:
            self.by_idempotency[key] = refund_id
        return JSONResponse(refund)

    def event(
        self, type_: str, intent: dict[str, Any], *, at: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        event = stripe_sdk.Event.construct_from(
            {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "api_version": stripe_sdk.api_version,
                "created": _now(),
                "data": {"object": intent},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": "req_" + secrets.token_hex(7), "idempotency_key": None},
                "type": type_,
            },
            None,
        )
        return self.sign(json.dumps(event.to_dict()).encode(), at=at, secret=secret)

    def sign(
        self, body: bytes, *, at: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        header = stripe_sdk.WebhookSignature.generate_signature_header(
            body.decode(), secret or self.webhook_secret, timestamp=at if at is not None else _now()
        )
        # Stripe also sends a v0 (test-mode) signature beside v1; a receiver ignores it.
        return body, {
            "Stripe-Signature": f"{header},v0={secrets.token_hex(32)}",
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }

    def refund_moved(
        self, refund_id: str, status: str, *, failure_reason: str | None = None, type_: str = "refund.updated"
    ) -> tuple[bytes, dict[str, str]]:
        """A refund of ours settled at Stripe: the refund.* event with the Refund object as it now
        is (status succeeded | failed | canceled; failure_reason as the API reference lists it,
        e.g. expired_or_canceled_card, lost_or_stolen_card, declined)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        if failure_reason is not None:
            refund["failure_reason"] = failure_reason
        return self.event(type_, refund)

    def succeed(self, intent_id: str, amount: int | None = None) -> tuple[bytes, dict[str, str]]:
        intent = self.intents[intent_id]
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"] if amount is None else amount
        intent["latest_charge"] = "ch_" + secrets.token_hex(12)
        return self.event("payment_intent.succeeded", intent)
