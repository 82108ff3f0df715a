"""Rate limits that hold across processes: fixed-window counters in the database, one upsert a hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.notifications.models import RateLimitCounter


async def allow(session: AsyncSession, bucket: str, *, limit: int, period: int) -> bool:
    """Count one hit on `bucket` (at most 80 characters; pass a hash, not a contact) and say
    whether it is within `limit` hits per `period` seconds."""
    now = clock.now()
    window = int(now.timestamp()) // period
    expires_at = datetime.fromtimestamp((window + 1) * period, UTC)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(RateLimitCounter)
        .values(bucket=bucket, window_start=window, hits=1, expires_at=expires_at)
        .on_conflict_do_update(
            index_elements=[RateLimitCounter.bucket, RateLimitCounter.window_start],
            set_={"hits": RateLimitCounter.hits + 1},
        )
        .returning(RateLimitCounter.hits)
    )
    hits = (await session.execute(upsert)).scalar_one()
    return int(hits) <= limit


def retry_after(period: int) -> int:
    """Seconds until the current window of `period` ends (for a Retry-After header)."""
    return period - int(clock.now().timestamp()) % period


async def prune(session: AsyncSession, *, grace: timedelta = timedelta(minutes=5)) -> int:
    """Drop counters of windows that have ended (the worker does this each pass)."""
    result = await session.execute(
        delete(RateLimitCounter)
        .where(RateLimitCounter.expires_at < clock.now() - grace)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
