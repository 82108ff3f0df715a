"""A client for Esplora-compatible block explorers (Blockstream's, mempool.space, self-hosted)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


SATS = Decimal("0.00000001")
PAGE = 25  # confirmed transactions per page of /address/:address/txs
MAX_PAGES = 20


class EsploraError(Exception):
    pass


@dataclass(frozen=True)
class SeenOutput:
    """One output paying a watched address."""

    txid: str
    vout: int
    amount: Decimal
    block_height: int | None  # None while in the mempool

    @property
    def reference(self) -> str:
        return f"{self.txid}:{self.vout}"

    def confirmations(self, tip: int) -> int:
        return 0 if self.block_height is None else max(tip - self.block_height + 1, 0)


class Esplora:
    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        self.base, self.http = base_url.rstrip("/"), http

    async def _get(self, path: str) -> httpx.Response:
        import httpx

        try:
            response = await self.http.get(self.base + path)
        except httpx.HTTPError as exc:
            raise EsploraError(f"{type(exc).__name__} from {self.http.base_url or 'esplora'}") from None
        if response.status_code != 200:
            raise EsploraError(f"esplora answered {response.status_code} for {path.split('/')[1]}")
        return response

    async def tip_height(self) -> int:
        text = (await self._get("/blocks/tip/height")).text.strip()
        if not text.isdigit():
            raise EsploraError("esplora's tip height is not a number")
        return int(text)

    async def address_txs(self, address: str) -> list[dict[str, Any]]:
        """Mempool and confirmed transactions of `address`, following the confirmed pages."""
        txs: list[dict[str, Any]] = _json_list(await self._get(f"/address/{address}/txs"))
        confirmed = [t for t in txs if (t.get("status") or {}).get("confirmed")]
        pages = 1
        while len(confirmed) >= PAGE and pages < MAX_PAGES:
            last = confirmed[-1]["txid"]
            page = _json_list(await self._get(f"/address/{address}/txs/chain/{last}"))
            if not page:
                break
            txs.extend(page)
            confirmed = page
            pages += 1
        return txs


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = response.json()
    except ValueError:
        raise EsploraError("esplora's answer is not JSON") from None
    if not isinstance(data, list) or not all(isinstance(t, dict) and "txid" in t for t in data):
        raise EsploraError("esplora's answer is not a list of transactions")
    return data


def outputs_to(address: str, txs: list[dict[str, Any]]) -> list[SeenOutput]:
    seen: dict[str, SeenOutput] = {}
    for tx in txs:
        status = tx.get("status") or {}
        height = status.get("block_height") if status.get("confirmed") else None
        for n, out in enumerate(tx.get("vout") or []):
            if out.get("scriptpubkey_address") == address and isinstance(out.get("value"), int):
                output = SeenOutput(str(tx["txid"]), n, Decimal(out["value"]) * SATS, height)
                seen[output.reference] = output  # a tx listed twice (mempool, then a page) counts once
    return list(seen.values())
