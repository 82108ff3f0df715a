"""Refused deliveries (bad or missing signature, too large): every one counted, but at most a few
stored per source and minute, so that unsigned traffic cannot fill the payload table."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.errors import DomainError
from ordergate.intake.models import IntakeSource
from ordergate.ratelimit import allow, retry_after

RECORDED_PER_MINUTE = 30  # per source: enough to see what a misconfigured channel sends
WINDOW = 60
REFUSALS = Counter(
    "ordergate_intake_refusals",
    "Refused intake deliveries by source and reason, recorded as a payload row or not",
    ["source", "reason", "recorded"],
)


class RefusalsThrottled(DomainError):
    status, type, title = 429, "rate-limited", "Too many refused deliveries for this source"

    def __init__(self) -> None:
        self.retry_after = retry_after(WINDOW)
        super().__init__(
            f"Too many refused deliveries for this source: try again in {self.retry_after} seconds"
        )


async def may_record(session: AsyncSession, source: IntakeSource, reason: str) -> bool:
    """Count a refusal; whether it may still be stored as a payload row this minute."""
    recorded = await allow(session, f"intake:refused:{source.id}", limit=RECORDED_PER_MINUTE, period=WINDOW)
    REFUSALS.labels(source.key, reason, "yes" if recorded else "no").inc()
    return recorded
