"""The operator's bundle routes (store key): list, propose from the bought-together counts, approve
(with the percent off B), retire. Paths under /api/v1/stores/{store}/admin/bundles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ordergate.catalog.admin_api import OPERATOR_ERRORS
from ordergate.db import Session
from ordergate.deps import CurrentStore, KeyActor, StoreOperator
from ordergate.errors import responses
from ordergate.recommendations import bundles
from ordergate.recommendations.schemas import ApproveIn, BundleList, BundleOut, BundleState, ProposeIn

router = APIRouter(prefix="/api/v1/stores/{store}/admin/bundles", tags=["operator: bundles"])

BundleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=BundleList, responses=responses(*OPERATOR_ERRORS))
async def list_bundles(
    session: Session,
    store: CurrentStore,
    _operator: StoreOperator,
    state: Annotated[BundleState | None, Query(description="proposed, approved or retired")] = None,
) -> BundleList:
    """The store's bundles: proposals first, then the approved (offered to every buyer), then retired."""
    return await bundles.list_bundles(session, store, state=state)


@router.post("/proposals", status_code=201, response_model=BundleList, responses=responses(*OPERATOR_ERRORS))
async def propose(
    session: Session, store: CurrentStore, actor: KeyActor, body: ProposeIn | None = None
) -> BundleList:
    """Propose bundles from the strongest bought-together pairs (both products on sale and in stock,
    no bundle of the pair yet). Answers the new proposals (none when nothing qualifies). A proposal
    prices nothing until it is approved."""
    body = body or ProposeIn()
    return await bundles.propose_bundles(
        session, store, min_orders=body.min_orders, limit=body.limit, actor=actor
    )


@router.get("/{bundle_id}", response_model=BundleOut, responses=responses(*OPERATOR_ERRORS))
async def get_bundle(
    session: Session, store: CurrentStore, _operator: StoreOperator, bundle_id: BundleId
) -> BundleOut:
    return bundles.bundle_view(*await bundles.get_bundle(session, store, bundle_id), store.currency)


@router.post(
    "/{bundle_id}/approve",
    response_model=BundleOut,
    responses=responses(*OPERATOR_ERRORS, bundles.BundleConflict),
)
async def approve(
    session: Session,
    store: CurrentStore,
    actor: KeyActor,
    bundle_id: BundleId,
    body: ApproveIn | None = None,
) -> BundleOut:
    """Offer the bundle to every buyer alike, from the next quote or order on (`percent_off`: whole
    percent off B, 1 to 90; left out, the percent it has). 409 when a product is archived."""
    percent = body.percent_off if body is not None else None
    return await bundles.approve_bundle(session, store, bundle_id, percent_off=percent, actor=actor)


@router.post(
    "/{bundle_id}/retire",
    response_model=BundleOut,
    responses=responses(*OPERATOR_ERRORS, bundles.BundleConflict),
)
async def retire(session: Session, store: CurrentStore, actor: KeyActor, bundle_id: BundleId) -> BundleOut:
    """Stop offering the bundle (or decline a proposal): orders placed from now on do not get it;
    orders already placed keep their discount. 409 when it is retired already."""
    return await bundles.retire_bundle(session, store, bundle_id, actor=actor)
