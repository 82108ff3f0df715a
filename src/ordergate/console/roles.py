"""What each console role may do, in one table, checked once per request by the console's
dependency (frame.py): owners everything; staff read and work orders (shipments, payments,
cancellations, refunds up to their limit, messages of orders); viewers read only. Keys, staff,
the audit log and store settings are the owner's, even to read. A path no rule names is the
owner's alone, so a new page is closed to staff until it is put here."""

from __future__ import annotations

import re

from ordergate.console.models import OWNER, STAFF, VIEWER

ADMIN = "/admin"
EVERYONE = frozenset({OWNER, STAFF, VIEWER})
WORKERS = frozenset({OWNER, STAFF})
OWNERS = frozenset({OWNER})

# (methods, path pattern under /admin, roles); the first match decides.
RULES: tuple[tuple[frozenset[str], re.Pattern[str], frozenset[str]], ...] = tuple(
    (frozenset(methods.split()), re.compile(pattern), roles)
    for methods, pattern, roles in (
        ("POST", r"/sign-out", EVERYONE),
        ("GET HEAD POST", r"/me(/.*)?", EVERYONE),  # one's own page and passkeys
        ("GET HEAD POST", r"/(keys|staff|audit|settings)(/.*)?", OWNERS),
        ("POST", r"/orders/bulk/(ship|cancel)", WORKERS),
        ("POST", r"/orders/[^/]+/(shipments|complete|cancel|payments|refunds|accept-payment)", WORKERS),
        ("POST", r"(/orders/[^/]+)?/messages/[0-9]+/retry", WORKERS),
        ("GET HEAD", r"(/.*)?", EVERYONE),
    )
)

WHAT = {
    STAFF: "Staff members work on orders, shipments and refunds; ask the store's owner for more.",
    VIEWER: "Viewers can look but not change anything; ask the store's owner for more.",
}


def allowed(role: str, method: str, path: str) -> bool:
    """May `role` make this request (`path` the full path, under /admin)?"""
    if role == OWNER:
        return True
    inner = path.removeprefix(ADMIN)
    for methods, pattern, roles in RULES:
        if method in methods and pattern.fullmatch(inner):
            return role in roles
    return False
