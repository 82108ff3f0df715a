"""The audit log in the console (owners): who did what, when and from where, newest first,
filtered by actor and action, paged by keyset ("older entries")."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordergate.audit.service import entries, known_actors
from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, page
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)
PAGE = 50
# What the action filter offers (a whole action, or every action under a prefix).
ACTIONS = (
    ("", "Every action"),
    ("order", "Orders (any)"),
    ("order.ship", "Shipments"),
    ("order.cancel", "Cancellations"),
    ("refund", "Refunds"),
    ("product", "Products"),
    ("bundle", "Bundles"),
    ("stock", "Stock changes"),
    ("intake", "Intake"),
    ("key", "API keys"),
    ("staff", "Staff"),
    ("settings", "Settings"),
    ("message", "Messages"),
    ("console.sign_in", "Console sign-ins"),
)


@router.get("/audit")
async def audit_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    query = request.query_params
    actor = clean(query.get("actor"), 320).strip()
    action = clean(query.get("action"), 64).strip()
    raw_before = clean(query.get("before"), 12)
    errors = FormErrors()
    before = int(raw_before) if raw_before.isdigit() and 0 < int(raw_before) < 2**31 else None
    if raw_before and before is None:
        errors.add("", "That page of the log does not exist: showing the newest entries")
    listing = await entries(
        session,
        store_id=found.store.id,
        actor=actor or None,
        action=action or None,
        before=before,
        limit=PAGE,
    )
    filters = {k: v for k, v in (("actor", actor), ("action", action)) if v}
    older = (
        f"{ADMIN_PATH}/audit?{urlencode({**filters, 'before': listing.next_before})}"
        if listing.next_before
        else None
    )
    return page(
        request,
        settings,
        "admin_audit.html",
        found.store,
        found,
        section="audit",
        status=422 if errors else 200,
        errors=errors,
        rows=listing.entries,
        actors=await known_actors(session, store_id=found.store.id),
        actions=ACTIONS,
        chosen={"actor": actor, "action": action},
        older=older,
        newest=f"{ADMIN_PATH}/audit?{urlencode(filters)}" if before else None,
    )
