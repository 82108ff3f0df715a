"""Deployment settings, read from ORDERGATE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 20


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/ordergate.db"
    base_url: str = "http://127.0.0.1:8000"
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
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    intake_max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    var_dir: Path = Path("var")
    db_pool_size: int = Field(default=10, ge=1)
    worker_interval_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "info"

    @model_validator(mode="after")
    def refuse_weak_secrets(self) -> Settings:
        # Outside the demo a short or guessable operator secret is a misconfiguration, not a choice.
        if not self.demo:
            if self.secret_key is None:
                raise ValueError("ORDERGATE_SECRET_KEY is required outside demo mode")
            for name in ("demo_admin_key", "demo_intake_secret", "secret_key"):
                value: SecretStr | None = getattr(self, name)
                if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
                    raise ValueError(
                        f"ORDERGATE_{name.upper()} must be at least {MIN_SECRET_LENGTH} characters"
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
