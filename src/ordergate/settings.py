"""Deployment settings, read from ORDERGATE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 20


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/ordergate.db"
    # Origin used in links (tracking, resume, emails, passkeys). Unset: the address serve listens on
    # (HOST, PORT); in the demo http://localhost:PORT, an origin passkeys accept over plain HTTP.
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    checkout_ttl_seconds: int = Field(default=86400, gt=0)
    payment_window_seconds: int = Field(default=900, gt=0)
    # Notifications: SMTP and SMS URLs carry credentials (see README); unset, messages go to var_dir files.
    smtp_url: SecretStr | None = None
    sms_url: SecretStr | None = None
    mail_from: str | None = None  # default: no-reply@<BASE_URL host>
    secret_key: SecretStr | None = None  # seals tracking links for later messages; required outside demo
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_retry_seconds: float = Field(default=30.0, gt=0)  # first retry delay, doubled each try
    outbox_lease_seconds: int = Field(default=120, ge=60)  # a claimed message is retried after this
    # "Payment expiring soon" at most this long before the end, within the window's last third; 0: off.
    payment_reminder_seconds: int = Field(default=86400, ge=0)
    order_links_per_contact_per_hour: int = Field(default=3, ge=1)
    order_links_per_client_per_hour: int = Field(default=20, ge=1)
    # Account sessions (accounts): end after this long unused, and this long after sign-in at most.
    account_session_idle_seconds: int = Field(default=7 * 86400, ge=60)
    account_session_max_seconds: int = Field(default=30 * 86400, ge=300)
    mcp_http: bool = True  # serve the assistant tools (MCP) over streamable HTTP at /mcp
    sandbox: bool = False
    demo: bool = False
    demo_admin_key: SecretStr | None = None
    demo_intake_secret: SecretStr | None = None
    # /metrics shows business gauges (orders, payments, intake) only to `Authorization: Bearer <this>`.
    metrics_token: SecretStr | None = None
    metrics_refresh_seconds: float = Field(
        default=60.0, ge=0
    )  # the gauges' database reads, at most this often
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips: comma-separated addresses or networks). Empty: the socket peer is the client.
    trusted_proxies: str = ""
    max_connections: int = Field(default=1024, ge=16)  # per web process; beyond it, 503
    max_connections_per_client: int = Field(default=128, ge=1)  # per web process and client address
    request_read_timeout_seconds: float = Field(default=20.0, gt=0, le=30)  # headers + body must arrive
    # Unknown order tokens / checkout ids and wrong API key secrets, per client address and window.
    guesses_per_client: int = Field(default=60, ge=1)
    guess_window_seconds: int = Field(default=600, ge=10)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    intake_max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    var_dir: Path = Path("var")
    db_pool_size: int = Field(default=10, ge=1)
    worker_interval_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "info"

    _base_url_default: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def default_base_url(self) -> Settings:
        if not self.base_url:
            self._base_url_default = True
            host = self.host
            if self.demo or host in ("0.0.0.0", "::", ""):  # noqa: S104 (words, not a bind)
                host = "localhost"
            elif ":" in host:
                host = f"[{host}]"  # an IPv6 literal in a URL
            self.base_url = f"http://{host}:{self.port}"
        return self

    @property
    def base_url_is_default(self) -> bool:
        """BASE_URL was not set: links use the listening address (serve warns outside the demo)."""
        return self._base_url_default

    @model_validator(mode="after")
    def refuse_weak_secrets(self) -> Settings:
        # Outside the demo a short or guessable operator secret is a misconfiguration, not a choice.
        if not self.demo:
            if self.secret_key is None:
                raise ValueError(
                    "ORDERGATE_SECRET_KEY is required outside demo mode "
                    "(the demo: ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=1, which `make run` and `make pay` set)"
                )
            for name in ("demo_admin_key", "demo_intake_secret", "secret_key", "metrics_token"):
                value: SecretStr | None = getattr(self, name)
                if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
                    raise ValueError(
                        f"ORDERGATE_{name.upper()} must be at least {MIN_SECRET_LENGTH} characters"
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
