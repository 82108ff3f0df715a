"""Watch-only derivation against BIP84's published vectors, and each kind's settings checks."""

from __future__ import annotations

import pytest

from ordergate.payments.config import settings_errors
from ordergate.payments.wallet import WalletError, bip21_uri, parse_wallet
from tests.payments.conftest import BIP84_CHANGE_0, BIP84_RECEIVE, BIP84_ZPUB

# The same account as BIP84's zpub, serialised with the plain xpub version bytes.
BIP84_XPUB = (
    "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvP"
    "EbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V"
)
BIP84_XPRV = (
    "zprvAWgYBBk7JR8Gjrh4UJQ2uJdG1r3WNRRfURiABBE3RvMXYSrRJL62Xuez"
    "vGdPvG6GFBZduosCc1YP5wixPox7zhZLfiUm8aunE96BBa4Kei5"
)


def test_bip84_zpub_gives_the_published_receive_addresses() -> None:
    wallet = parse_wallet(BIP84_ZPUB, None, None)
    assert [wallet.address(i) for i in range(2)] == BIP84_RECEIVE
    assert wallet.network == "mainnet"
    assert wallet.asset == "BTC"
    assert wallet.script_type == "p2wpkh"


def test_descriptor_and_plain_xpub_derive_the_same_addresses() -> None:
    by_descriptor = parse_wallet(None, f"wpkh([73c5da0a/84h/0h/0h]{BIP84_XPUB}/<0;1>/*)", None)
    assert [by_descriptor.address(i) for i in range(2)] == BIP84_RECEIVE
    by_xpub = parse_wallet(BIP84_XPUB, None, None)
    assert by_xpub.address(0) == BIP84_RECEIVE[0]
    change = parse_wallet(None, f"wpkh({BIP84_XPUB}/1/*)", None)
    assert change.address(0) == BIP84_CHANGE_0


def test_private_keys_and_mismatches_are_refused() -> None:
    with pytest.raises(WalletError, match="private key"):
        parse_wallet(BIP84_XPRV, None, None)
    with pytest.raises(WalletError, match="mainnet but network is regtest"):
        parse_wallet(BIP84_ZPUB, None, "regtest")
    with pytest.raises(WalletError, match="checksum"):
        parse_wallet(BIP84_ZPUB[:-1] + "t", None, None)
    with pytest.raises(WalletError, match=r"end in /\*"):
        parse_wallet(None, f"wpkh({BIP84_XPUB}/0/0)", None)


def test_wallet_identity_does_not_depend_on_the_key_encoding() -> None:
    assert (
        parse_wallet(BIP84_ZPUB, None, None).fingerprint == parse_wallet(BIP84_XPUB, None, None).fingerprint
    )
    assert BIP84_ZPUB not in parse_wallet(BIP84_ZPUB, None, None).label


def test_bip21_uri() -> None:
    assert (
        bip21_uri(BIP84_RECEIVE[0], "0.000678", label="K7QF-M2XD")
        == f"bitcoin:{BIP84_RECEIVE[0]}?amount=0.000678&label=K7QF-M2XD"
    )


def test_each_kind_names_its_bad_settings() -> None:
    esplora = "https://blockstream.info/api"
    assert settings_errors("onchain", {"xpub": BIP84_ZPUB, "esplora_url": esplora, "rate": "50000"}) == []
    assert (
        settings_errors("onchain", {"xpub": "xpub-nonsense", "esplora_url": esplora, "rate": "1"})[0][0]
        == "xpub"
    )
    assert (
        settings_errors("onchain", {"xpub": BIP84_XPRV, "esplora_url": esplora, "rate": "1"})[0][0] == "xpub"
    )
    assert settings_errors("onchain", {"xpub": BIP84_ZPUB, "esplora_url": "ftp://x", "rate": "1"})[0][0] == (
        "esplora_url"
    )
    assert settings_errors("onchain", {"xpub": BIP84_ZPUB, "esplora_url": esplora})[0][0] == "rate"
    assert settings_errors("onchain", {"xpub": BIP84_ZPUB, "esplora_url": esplora, "rate_url": esplora})[0][
        0
    ] == ("rate_path")
    btcpay = {
        "url": "https://pay.example",
        "store_id": "S1",
        "api_key": "k" * 40,
        "webhook_secret": "env:WH_SECRET",
    }
    assert settings_errors("btcpay", btcpay) == []
    assert [k for k, _ in settings_errors("btcpay", {**btcpay, "url": "pay.example", "store_id": ""})] == [
        "url",
        "store_id",
    ]
    assert [k for k, _ in settings_errors("btcpay", {k: v for k, v in btcpay.items() if k != "api_key"})] == [
        "api_key"
    ]
    stripe = {"secret_key": "sk_test_abcdefgh", "webhook_secret": "whsec_abcdefgh"}
    assert settings_errors("stripe", stripe) == []
    errors = settings_errors("stripe", {**stripe, "secret_key": "pk_test_abcdefgh", "colour": "red"})
    assert [k for k, _ in errors] == ["secret_key", "colour"]
    assert all("pk_test_abcdefgh" not in message for _, message in errors)  # values are never echoed
