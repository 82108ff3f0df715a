"""Funnel report for the store's operator (JSON, or CSV with format=csv)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from ordergate.analytics.schemas import FunnelReportOut
from ordergate.analytics.service import funnel_report, parse_since, report_csv
from ordergate.db import Session
from ordergate.deps import CurrentStore, StoreOperator
from ordergate.errors import Forbidden, NotFound, Unauthorized, responses

router = APIRouter(prefix="/api/v1/stores/{store}/admin", tags=["operator"])


@router.get(
    "/report",
    response_model=FunnelReportOut,
    responses={**responses(Unauthorized, Forbidden, NotFound), 200: {"content": {"text/csv": {}}}},
)
async def get_report(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    since: Annotated[str, Query(max_length=40, description="30d, 12h, 2w or an ISO date")] = "30d",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> FunnelReportOut | Response:
    report = await funnel_report(session, store, since=parse_since(since))
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{store.slug}-funnel.csv"'},
        )
    return report
