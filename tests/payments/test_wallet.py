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
    by_xpub = parse_wallet(BIP84_XPUB, None, None, "p2wpkh")
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
        parse_wallet(BIP84_ZPUB, None, None).fingerprint
        == parse_wallet(BIP84_XPUB, None, None, "p2wpkh").fingerprint
    )
    assert BIP84_ZPUB not in parse_wallet(BIP84_ZPUB, None, None).label


# The "abandon ... about" mnemonic's accounts as BIP44 (m/44'/0'/0', legacy p2pkh) and BIP49
# (m/49'/1'/0', the testnet vector in BIP-0049's "Test vectors" section) publish them: the account
# xpub/tpub and its first receive address. The same plain key means other addresses per script.
BIP44_XPUB = (
    "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8"
    "Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
)
BIP44_RECEIVE_0 = "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"
BIP49_TPUB = (
    "tpubDD7tXK8KeQ3YY83yWq755fHY2JW8Ha8Q765tknUM5rSvjPcGWfUppDFMpQ1Sc"
    "ziKfW3ZNtZvAD7M3u7bSs7HofjTD3KP3YxPK7X6hwV8Rk2"
)
BIP49_RECEIVE_0 = "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"


def test_a_plain_xpub_needs_its_script_type_and_each_gives_the_published_address() -> None:
    for key in (BIP44_XPUB, BIP49_TPUB, BIP84_XPUB):
        with pytest.raises(
            WalletError, match=r"BIP44 \(p2pkh\), BIP49 \(p2sh-p2wpkh\) and BIP84.*script_type"
        ):
            parse_wallet(key, None, None)
    assert parse_wallet(BIP44_XPUB, None, None, "p2pkh").address(0) == BIP44_RECEIVE_0
    assert parse_wallet(BIP49_TPUB, None, None, "p2sh-p2wpkh").address(0) == BIP49_RECEIVE_0
    assert parse_wallet(BIP84_XPUB, None, None, "p2wpkh").address(0) == BIP84_RECEIVE[0]
    # A key that names its script can't be told another one; a descriptor names its own.
    with pytest.raises(WalletError, match="a zpub is a p2wpkh key, but script_type is p2pkh"):
        parse_wallet(BIP84_ZPUB, None, None, "p2pkh")
    with pytest.raises(WalletError, match="descriptor names its own script"):
        parse_wallet(None, f"pkh({BIP44_XPUB}/0/*)", None, "p2pkh")
    assert parse_wallet(None, f"pkh({BIP44_XPUB}/0/*)", None).address(0) == BIP44_RECEIVE_0


def test_store_settings_say_the_script_type_is_missing() -> None:
    esplora = "https://blockstream.info/api"
    [(field, message)] = settings_errors("onchain", {"xpub": BIP84_XPUB, "esplora_url": esplora, "rate": "1"})
    assert field == "xpub"
    assert "script_type" in message
    assert BIP84_XPUB not in message
    ok = {"xpub": BIP84_XPUB, "script_type": "p2wpkh", "esplora_url": esplora, "rate": "1"}
    assert settings_errors("onchain", ok) == []


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
    stripe = {
        "secret_key": "sk_test_abcdefgh",
        "webhook_secret": "whsec_abcdefgh",
        "publishable_key": "pk_test_abcdefgh",
    }
    assert settings_errors("stripe", stripe) == []
    errors = settings_errors("stripe", {**stripe, "secret_key": "pk_test_abcdefgh", "colour": "red"})
    assert [k for k, _ in errors] == ["secret_key", "colour"]
    assert all("pk_test_abcdefgh" not in message for _, message in errors)  # values are never echoed
    # The card form needs the publishable key beside the secret one: missing, a secret key in its
    # place, another shape, or test and live mixed, the error names publishable_key.
    without = {k: v for k, v in stripe.items() if k != "publishable_key"}
    assert [k for k, _ in settings_errors("stripe", without)] == ["publishable_key"]
    [(key, message)] = settings_errors("stripe", {**stripe, "publishable_key": "sk_test_abcdefgh"})
    assert (key, "sk_test_abcdefgh" in message) == ("publishable_key", False)
    assert "secret key" in message
    [(key, message)] = settings_errors("stripe", {**stripe, "publishable_key": "pub_abcdefgh"})
    assert (key, message) == ("publishable_key", "a Stripe publishable key starts with pk_test_ or pk_live_")
    [(key, message)] = settings_errors("stripe", {**stripe, "publishable_key": "pk_live_abcdefgh"})
    assert key == "publishable_key"
    assert "test and live keys mixed" in message
    live = {**stripe, "secret_key": "sk_live_abcdefgh", "publishable_key": "pk_live_abcdefgh"}
    assert settings_errors("stripe", live) == []
