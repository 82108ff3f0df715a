"""Watch-only on-chain wallets: receive addresses derived from an extended public key or a
descriptor (embit). No private key is ever accepted or held."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

# embit (about 2 MB of modules) loads when a wallet is first read, not with every web process.

NETWORK_KEYS = {"mainnet": "main", "testnet": "test", "signet": "signet", "regtest": "regtest"}
# Extended key version prefixes -> (network family, script type), SLIP-132. A plain xpub (tpub)
# says nothing of the script: BIP44 (p2pkh), BIP49 (p2sh-p2wpkh) and BIP84 (p2wpkh) wallets all
# export one, and each derives other addresses from it. Its script type must be given.
PUBLIC_PREFIXES: dict[str, tuple[str, str | None]] = {
    "xpub": ("mainnet", None),
    "ypub": ("mainnet", "p2sh-p2wpkh"),
    "zpub": ("mainnet", "p2wpkh"),
    "tpub": ("testnet", None),
    "upub": ("testnet", "p2sh-p2wpkh"),
    "vpub": ("testnet", "p2wpkh"),
}
SCRIPT_TYPES = {"p2pkh": "BIP44", "p2sh-p2wpkh": "BIP49", "p2wpkh": "BIP84"}
PRIVATE_PREFIXES = ("xprv", "yprv", "zprv", "tprv", "uprv", "vprv", "Yprv", "Zprv", "Uprv", "Vprv")


class WalletError(ValueError):
    """A key or descriptor that cannot serve as a watch-only receive wallet (message names no key)."""


def _is_test_family(network: str) -> bool:
    return network in ("testnet", "signet", "regtest")


@dataclass(frozen=True)
class WatchOnlyWallet:
    network: str
    script_type: str
    fingerprint: str  # sha256 of the canonical public description: the wallet's identity here
    label: str  # short and safe to show an operator
    _xpub: Any = None
    _descriptor: Any = None

    @property
    def asset(self) -> str:
        return "TBTC" if _is_test_family(self.network) else "BTC"

    def address(self, index: int) -> str:
        """The receive address at `index` (external chain)."""
        if not 0 <= index < 2**31:
            raise WalletError("derivation index out of range")
        from embit import script  # type: ignore[import-untyped]
        from embit.networks import NETWORKS  # type: ignore[import-untyped]

        net = NETWORKS[NETWORK_KEYS[self.network]]
        if self._descriptor is not None:
            d = self._descriptor
            derived = d.derive(index, branch_index=0) if d.num_branches > 1 else d.derive(index)
            return str(derived.address(net))
        child = self._xpub.derive([0, index])
        if self.script_type == "p2pkh":
            return str(script.p2pkh(child).address(net))
        if self.script_type == "p2sh-p2wpkh":
            return str(script.p2sh(script.p2wpkh(child)).address(net))
        return str(script.p2wpkh(child).address(net))


def _label(text: str) -> str:
    return f"{text[:8]}…{text[-4:]}" if len(text) > 16 else text


@lru_cache(maxsize=128)
def parse_wallet(
    xpub: str | None, descriptor: str | None, network: str | None, script_type: str | None = None
) -> WatchOnlyWallet:
    """Parse the store's watch-only key; raises WalletError with a reason fit to show."""
    if network is not None and network not in NETWORK_KEYS:
        raise WalletError(f"network must be one of {', '.join(NETWORK_KEYS)}")
    if bool(xpub) == bool(descriptor):
        raise WalletError("give exactly one of xpub or descriptor")
    if script_type is not None and script_type not in SCRIPT_TYPES:
        raise WalletError(f"script_type must be one of {', '.join(SCRIPT_TYPES)}")
    if xpub:
        return _from_xpub(xpub.strip(), network, script_type)
    if script_type is not None:
        raise WalletError("script_type goes with an xpub only: a descriptor names its own script")
    assert descriptor is not None
    return _from_descriptor(descriptor.strip(), network)


def _check_network(family: str, network: str | None) -> str:
    if network is None:
        return family
    if _is_test_family(family) != _is_test_family(network):
        raise WalletError(f"the key is for {family} but network is {network}")
    return network


def _script_type(prefix: str, implied: str | None, given: str | None) -> str:
    if implied is None and given is None:
        raise WalletError(
            f"a plain {prefix} is exported alike by BIP44 (p2pkh), BIP49 (p2sh-p2wpkh) and BIP84 (p2wpkh) "
            "wallets, each with other addresses: set script_type (p2pkh, p2sh-p2wpkh or p2wpkh), or give "
            "the key as ypub/zpub (upub/vpub) or as a descriptor such as wpkh(xpub.../0/*)"
        )
    if implied is not None and given is not None and implied != given:
        raise WalletError(f"a {prefix} is a {implied} key, but script_type is {given}")
    script_type = given or implied
    assert script_type is not None
    return script_type


def _from_xpub(text: str, network: str | None, given: str | None = None) -> WatchOnlyWallet:
    if text.startswith(PRIVATE_PREFIXES):
        raise WalletError("this is a private key; give the extended public key (no private keys are held)")
    from embit import bip32
    from embit.networks import NETWORKS

    prefix = text[:4]
    if prefix not in PUBLIC_PREFIXES:
        raise WalletError("not an extended public key (xpub, ypub, zpub, tpub, upub or vpub)")
    try:
        key = bip32.HDKey.from_string(text)
    except Exception:  # noqa: BLE001 - embit raises several types for bad base58, checksum or point
        raise WalletError("not a valid extended public key (bad checksum or encoding)") from None
    if key.is_private:
        raise WalletError("this is a private key; give the extended public key (no private keys are held)")
    family, implied = PUBLIC_PREFIXES[prefix]
    script_type = _script_type(prefix, implied, given)
    net = _check_network(family, network)
    canonical = key.to_base58(version=NETWORKS["main" if family == "mainnet" else "test"]["xpub"])
    fingerprint = hashlib.sha256(f"{net}|{script_type}|{canonical}/0/*".encode()).hexdigest()
    return WatchOnlyWallet(net, script_type, fingerprint, _label(text), _xpub=key)


def _from_descriptor(text: str, network: str | None) -> WatchOnlyWallet:
    from embit.descriptor import Descriptor  # type: ignore[import-untyped]
    from embit.networks import NETWORKS

    body = text.split("#", 1)[0].strip()  # the checksum is optional
    if any(p in body for p in PRIVATE_PREFIXES):
        raise WalletError("the descriptor holds a private key; use its public form")
    try:
        desc = Descriptor.from_string(body)
    except Exception:  # noqa: BLE001 - embit raises several types for a bad descriptor
        raise WalletError("not a valid output descriptor") from None
    if any(getattr(k, "is_private", False) for k in desc.keys):
        raise WalletError("the descriptor holds a private key; use its public form")
    if not desc.is_wildcard:
        raise WalletError("the descriptor must end in /* so each order gets its own address")
    tests = {k.key.version == NETWORKS["test"]["xpub"] for k in desc.keys if getattr(k, "is_extended", False)}
    family = "testnet" if tests == {True} else "mainnet"
    net = _check_network(family, network)
    kind = "p2tr" if desc.is_taproot else ("p2wpkh" if desc.is_segwit and desc.is_pkh else "descriptor")
    fingerprint = hashlib.sha256(f"{net}|{desc.to_string()}".encode()).hexdigest()
    wallet = WatchOnlyWallet(net, kind, fingerprint, _label(body), _descriptor=desc)
    try:
        wallet.address(0)
    except Exception:  # noqa: BLE001 - embit raises several types when a key cannot be derived
        raise WalletError("addresses cannot be derived from this descriptor") from None
    return wallet


def bip21_uri(address: str, amount: str, *, label: str) -> str:
    """`bitcoin:<address>?amount=<amount>&label=<label>` (BIP21; amount in BTC, no exponent)."""
    return f"bitcoin:{address}?amount={amount}&label={quote(label, safe='')}"
