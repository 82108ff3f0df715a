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
    smtp_url: str | None = None
    sms_url: str | None = None
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
            for name in ("demo_admin_key", "demo_intake_secret"):
                value: SecretStr | None = getattr(self, name)
                if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
                    raise ValueError(
                        f"ORDERGATE_{name.upper()} must be at least {MIN_SECRET_LENGTH} characters"
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
