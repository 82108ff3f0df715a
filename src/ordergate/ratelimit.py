"""Rate limits that hold across processes: fixed-window counters in the database, one upsert a hit.

Shared by notifications (codes sent to a contact), accounts (claim attempts) and the console
(sign-in attempts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ordergate import clock
from ordergate.db import Base, UTCDateTime
from ordergate.sql import execute_counted, insert


class RateLimitCounter(Base):
    """Fixed-window counters shared by every process (`bucket` is a hash, never a raw contact)."""

    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


async def allow(session: AsyncSession, bucket: str, *, limit: int, period: int) -> bool:
    """Count one hit on `bucket` (at most 80 characters; pass a hash, not a contact) and say
    whether it is within `limit` hits per `period` seconds."""
    now = clock.now()
    window = int(now.timestamp()) // period
    expires_at = datetime.fromtimestamp((window + 1) * period, UTC)
    upsert = (
        insert(session, RateLimitCounter)
        .values(bucket=bucket, window_start=window, hits=1, expires_at=expires_at)
        .on_conflict_do_update(
            index_elements=[RateLimitCounter.bucket, RateLimitCounter.window_start],
            set_={"hits": RateLimitCounter.hits + 1},
        )
        .returning(RateLimitCounter.hits)
    )
    hits = (await session.execute(upsert)).scalar_one()
    return int(hits) <= limit


@dataclass(frozen=True)
class Limit:
    """`per_minute` hits a minute, and at most `per_block` in `block_seconds` (then a block)."""

    per_minute: int
    per_block: int
    block_seconds: int = 900


async def wait_for(session: AsyncSession, bucket: str, limit: Limit) -> int | None:
    """Count a hit on both of `limit`'s windows; None when allowed, else the seconds until it would be."""
    minute_ok = await allow(session, f"{bucket}:m", limit=limit.per_minute, period=60)
    block_ok = await allow(session, f"{bucket}:b", limit=limit.per_block, period=limit.block_seconds)
    if block_ok and minute_ok:
        return None
    return retry_after(limit.block_seconds if not block_ok else 60)


def retry_after(period: int) -> int:
    """Seconds until the current window of `period` ends (for a Retry-After header)."""
    return period - int(clock.now().timestamp()) % period


async def prune(session: AsyncSession, *, grace: timedelta = timedelta(minutes=5)) -> int:
    """Drop counters of windows that have ended (the worker does this each pass)."""
    return await execute_counted(
        session, delete(RateLimitCounter).where(RateLimitCounter.expires_at < clock.now() - grace)
    )
