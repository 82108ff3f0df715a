"""Each payment method kind's settings, validated: a bad or missing key is named in the error."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ordergate.payments.wallet import WalletError, WatchOnlyWallet, parse_wallet

ENV_PREFIX = "env:"


def secret_value(raw: str | None) -> str | None:
    """A secret setting: the value itself, or `env:NAME` to read it from the environment."""
    if raw is None:
        return None
    if raw.startswith(ENV_PREFIX):
        return os.environ.get(raw[len(ENV_PREFIX) :]) or None
    return raw


def _http_url(value: str, *, base: bool = True) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    if base and (parts.query or parts.fragment):
        raise ValueError("must be a base URL without query or fragment")
    return value.strip().rstrip("/") if base else value.strip()


def _secret(value: str, *, prefixes: tuple[str, ...] = (), name: str) -> str:
    value = value.strip()
    if value.startswith(ENV_PREFIX):
        if len(value) == len(ENV_PREFIX):
            raise ValueError("env: needs the name of an environment variable")
        return value
    if prefixes and not value.startswith(prefixes):
        raise ValueError(f"a {name} starts with {' or '.join(prefixes)}")
    if len(value) < 8:
        raise ValueError(f"too short to be a {name}")
    return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class SandboxSettings(_Settings):
    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)
    rate: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)


class ManualSettings(_Settings):
    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)


class OnchainSettings(_Settings):
    xpub: str | None = None
    # p2pkh (BIP44), p2sh-p2wpkh (BIP49) or p2wpkh (BIP84): needed with a plain xpub/tpub, which
    # does not say which; ypub/zpub/upub/vpub and descriptors do.
    script_type: Literal["p2pkh", "p2sh-p2wpkh", "p2wpkh"] | None = None
    descriptor: str | None = None
    network: Literal["mainnet", "testnet", "signet", "regtest"] | None = None
    esplora_url: str
    rate: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    rate_url: str | None = None
    rate_path: str | None = Field(default=None, min_length=1, max_length=200)
    rate_max_age_seconds: int = Field(default=300, gt=0, le=86400)
    gap_limit: int = Field(default=20, ge=1, le=10000)
    start_index: int = Field(default=0, ge=0, lt=2**31)

    @field_validator("esplora_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("rate_url")
    @classmethod
    def _rate_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, base=False)  # a query string is fine here

    @field_validator("xpub", "descriptor")
    @classmethod
    def _no_private(cls, value: str | None) -> str | None:
        if value is not None and any(p in value for p in ("prv",)):
            raise ValueError("a private key was given; give the public key (no private keys are held)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OnchainSettings:
        if bool(self.xpub) == bool(self.descriptor):
            raise ValueError("xpub: give exactly one of xpub or descriptor")
        try:
            parse_wallet(self.xpub, self.descriptor, self.network, self.script_type)
        except WalletError as exc:
            raise ValueError(f"{'xpub' if self.xpub else 'descriptor'}: {exc}") from None
        if (self.rate is None) == (self.rate_url is None):
            raise ValueError("rate: give exactly one of rate (fixed) or rate_url (an HTTP rate source)")
        if self.rate_url is not None and not self.rate_path:
            raise ValueError(
                "rate_path: required with rate_url (where the rate is in its JSON, e.g. bitcoin.eur)"
            )
        return self

    def wallet(self) -> WatchOnlyWallet:
        return parse_wallet(self.xpub, self.descriptor, self.network, self.script_type)


class BtcpaySettings(_Settings):
    url: str
    store_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    api_key: str
    webhook_secret: str
    payment_method: str = Field(default="BTC", min_length=1, max_length=40)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: str) -> str:
        return _secret(value, name="BTCPay API key")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        return _secret(value, name="webhook secret")


class StripeSettings(_Settings):
    secret_key: str
    webhook_secret: str
    # The order page's card form (Stripe.js) needs it; it is public by design (docs.stripe.com/keys).
    publishable_key: str
    api_url: str = "https://api.stripe.com"

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str) -> str:
        return _secret(value, prefixes=("sk_", "rk_"), name="Stripe secret key")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        return _secret(value, prefixes=("whsec_",), name="Stripe webhook signing secret")

    @field_validator("publishable_key")
    @classmethod
    def _publishable_key(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("sk_", "rk_")):
            raise ValueError("this is a secret key: give the publishable key (pk_...), shown beside it")
        if not re.fullmatch(r"pk_(test|live)_[A-Za-z0-9]{8,}", value):
            raise ValueError("a Stripe publishable key starts with pk_test_ or pk_live_")
        return value

    @model_validator(mode="after")
    def _same_mode(self) -> StripeSettings:
        secret = self.secret_key
        live_secret, live_public = "_live_" in secret, "_live_" in self.publishable_key
        if not secret.startswith(ENV_PREFIX) and live_secret != live_public:
            raise ValueError("publishable_key: test and live keys mixed (both must be test, or both live)")
        return self


SETTINGS_MODELS: dict[str, type[_Settings]] = {
    "sandbox": SandboxSettings,
    "manual": ManualSettings,
    "onchain": OnchainSettings,
    "btcpay": BtcpaySettings,
    "stripe": StripeSettings,
}


def settings_errors(kind: str, settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for each problem in a method's settings; empty when they are fine."""
    model = SETTINGS_MODELS.get(kind)
    if model is None:
        return [("kind", f"unknown payment method kind {kind!r}")]
    try:
        model.model_validate(dict(settings))
    except ValidationError as exc:
        return [_located(e) for e in exc.errors()]
    return []


def _located(error: Any) -> tuple[str, str]:
    loc = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc and ": " in message:  # model-level checks say which key they are about
        loc, message = message.split(": ", 1)
    if error.get("type") == "extra_forbidden":
        message = "not a setting of this payment method kind"
    return loc or "settings", message


@lru_cache(maxsize=256)
def _parsed(kind: str, frozen: str) -> _Settings | str:
    try:
        return SETTINGS_MODELS[kind].model_validate(json.loads(frozen))
    except ValidationError as exc:
        return _located(exc.errors()[0])[0]


def parsed_settings(kind: str, settings: Mapping[str, Any]) -> _Settings | str:
    """The method's settings parsed (memoised), or the name of the first bad key."""
    if kind not in SETTINGS_MODELS:
        return "kind"
    return _parsed(kind, json.dumps(dict(settings), sort_keys=True, default=str))
