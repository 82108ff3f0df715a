"""The quality rules: each has an id, a default severity and, per source, an owner team.

Checks here are pure functions over a canonical order and what the database said about it
(catalog, mappings); they return findings. A source's configuration turns each finding into an
issue with an owner and a severity: `block` quarantines the payload, `warn` accepts it and records
the issue, `hold` waits for the order's create."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

from ordergate import money
from ordergate.contact import normal_email, normal_phone
from ordergate.intake.schemas import CanonicalOrder
from ordergate.orders.status import OrderStatus

Severity = Literal["block", "warn", "hold"]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    adjustable: bool = True  # may a source's configuration change the severity?


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("payload.encoding", "block", "the body is UTF-8 text", adjustable=False),
        Rule("payload.json", "block", "the body parses (JSON object, or CSV rows)", adjustable=False),
        Rule("payload.topic", "block", "the event type is one this source handles", adjustable=False),
        Rule("payload.shape", "block", "every field has the type and form it should", adjustable=False),
        Rule("completeness.required", "block", "the fields an order needs are present", adjustable=False),
        Rule("completeness.delivery", "warn", "the delivery fields the store requires are present"),
        Rule("reference.store", "block", "the payload is for this store (shop, site)", adjustable=False),
        Rule("reference.currency", "block", "the order is in the store's currency"),
        Rule("reference.sku", "block", "every SKU is in the catalog or explicitly mapped"),
        Rule("contact.email", "block", "the customer's email address is valid"),
        Rule("contact.phone", "warn", "the customer's phone number is valid (else it is dropped)"),
        Rule("money.line", "block", "each line's total is its unit price times its quantity"),
        Rule("money.total", "block", "the lines, shipping, fees, tax and discount add up to the total"),
        Rule("stock.available", "block", "the catalog has the stock to hold for the order"),
        Rule(
            "channel.test_order",
            "warn",
            "a channel's test order is recorded as a test, never booked (block: refuse it outright)",
        ),
        Rule(
            "state.transition", "block", "an update is a legal move from the order's state", adjustable=False
        ),
        Rule("state.stale", "warn", "an update is not older than the last one applied", adjustable=False),
        Rule("state.awaiting_create", "hold", "the order an update is for exists", adjustable=False),
        Rule("intake.error", "block", "the payload could be processed at all", adjustable=False),
    )
}
SEVERITIES: tuple[str, ...] = ("block", "warn")


@dataclass(frozen=True)
class Finding:
    rule: str
    field: str
    message: str


@dataclass(frozen=True)
class Issue:
    rule: str
    field: str
    owner: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "field": self.field,
            "owner": self.owner,
            "severity": self.severity,
            "message": self.message,
        }


def resolve(
    findings: Iterable[Finding],
    *,
    owner: str,
    rule_owners: Mapping[str, str],
    rule_severity: Mapping[str, str],
) -> list[Issue]:
    """Findings -> issues, with the owner and severity the source's configuration gives each rule."""
    return [
        Issue(
            f.rule,
            f.field,
            rule_owners.get(f.rule, owner),
            severity_for(f.rule, rule_severity),
            f.message[:500],
        )
        for f in findings
    ]


def severity_for(rule_id: str, rule_severity: Mapping[str, str]) -> Severity:
    rule = RULES[rule_id]
    wanted = rule_severity.get(rule_id)
    if rule.adjustable and wanted in SEVERITIES:
        return "block" if wanted == "block" else "warn"
    return rule.severity


def blocking(issues: Iterable[Issue]) -> bool:
    return any(i.severity == "block" for i in issues)


def config_errors(rule_owners: Mapping[str, str], rule_severity: Mapping[str, str]) -> list[str]:
    """What is wrong with a source's rule configuration (unknown rule ids, fixed severities)."""
    errors = [f"rule_owners: no rule {rule!r}" for rule in rule_owners if rule not in RULES]
    for rule, severity in rule_severity.items():
        if rule not in RULES:
            errors.append(f"rule_severity: no rule {rule!r}")
        elif not RULES[rule].adjustable and severity != RULES[rule].severity:
            errors.append(f"rule_severity: {rule} is always {RULES[rule].severity}")
    return errors


# --- completeness -----------------------------------------------------------------------------


def check_completeness(order: CanonicalOrder, *, delivery_fields: Iterable[str]) -> list[Finding]:
    found: list[Finding] = []

    def need(field: str, what: str) -> None:
        found.append(Finding("completeness.required", field, f"{what} is missing"))

    if not order.external_id:
        need("external_id", "the channel's order id")
    if not order.currency:
        need("currency", "the currency")
    if order.total is None:
        need("total", "the order total")
    if not order.lines:
        need("lines", "at least one line")
    found += _incomplete_lines(order)
    contact = order.contact
    if contact is None or not (contact.email or contact.phone):
        need("contact", "an email address or phone number for the customer")
    delivery = order.delivery.model_dump() if order.delivery else {}
    for name in delivery_fields:
        if not delivery.get(name):
            found.append(
                Finding("completeness.delivery", f"delivery.{name}", f"the store requires delivery.{name}")
            )
    return found


def _incomplete_lines(order: CanonicalOrder) -> list[Finding]:
    found = []
    for n, line in enumerate(order.lines):
        for field, what, missing in (
            ("sku", "the line's SKU", not line.sku and not line.external_ref),
            ("quantity", "the line's quantity", line.quantity is None),
            ("unit_price", "the line's unit price", line.unit_price is None),
        ):
            if missing:
                found.append(Finding("completeness.required", f"lines[{n}].{field}", f"{what} is missing"))
    return found


# --- references -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedLine:
    sku: str  # ours
    external_sku: str | None  # as the channel sent it, when a mapping was used


def check_currency(order: CanonicalOrder, *, store_currency: str) -> list[Finding]:
    if order.currency and order.currency != store_currency:
        return [
            Finding(
                "reference.currency",
                "currency",
                f"the order is in {order.currency}; this store sells in {store_currency}",
            )
        ]
    return []


def resolve_skus(
    order: CanonicalOrder, *, catalog: Iterable[str], mappings: Mapping[str, str], source: str
) -> tuple[list[ResolvedLine | None], list[Finding]]:
    """Each line's SKU in our catalog: a mapping of its SKU wins over the same SKU in the catalog,
    then the catalog, then a mapping of its external reference (lines that carry no SKU)."""
    known = set(catalog)
    resolved: list[ResolvedLine | None] = []
    found: list[Finding] = []
    for n, line in enumerate(order.lines):
        field = f"lines[{n}].sku"
        target: ResolvedLine | None = None
        if line.sku and line.sku in mappings:
            target = ResolvedLine(mappings[line.sku], line.sku)
        elif line.sku and line.sku in known:
            target = ResolvedLine(line.sku, None)
        elif line.external_ref and line.external_ref in mappings:
            target = ResolvedLine(mappings[line.external_ref], line.external_ref)
        if target is not None and target.sku not in known:
            found.append(
                Finding(
                    "reference.sku",
                    field,
                    f"{target.external_sku} is mapped to {target.sku}, which is not in the catalog",
                )
            )
            target = None
        elif target is None and line.sku:
            found.append(
                Finding(
                    "reference.sku",
                    field,
                    f"SKU {line.sku!r} is not in this store's catalog "
                    f"and source {source} has no mapping for it",
                )
            )
        elif target is None and line.external_ref:
            found.append(
                Finding(
                    "completeness.required",
                    field,
                    f"the line has no SKU; map {line.external_ref!r} to one of our SKUs, "
                    "or correct the payload",
                )
            )
        resolved.append(target)
    return resolved, found


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None


def check_contact(order: CanonicalOrder) -> tuple[Contact, list[Finding]]:
    """The contact normalised (email lower-cased domain, phone E.164); invalid parts are reported
    and left out, so a `warn` keeps only what can be used."""
    found: list[Finding] = []
    email = phone = None
    given = order.contact
    if given and given.email:
        try:
            email = normal_email(given.email)
        except ValueError as exc:
            found.append(Finding("contact.email", "contact.email", str(exc)))
    if given and given.phone:
        region = order.delivery.country if order.delivery and order.delivery.country else None
        try:
            phone = normal_phone(given.phone, region)
        except ValueError:
            found.append(
                Finding("contact.phone", "contact.phone", f"{given.phone!r} is not a valid phone number")
            )
    return Contact(email, phone), found


# --- money ------------------------------------------------------------------------------------


def line_total(unit_price: Decimal, quantity: int, given: Decimal | None) -> Decimal:
    return given if given is not None else unit_price * quantity


def check_money(order: CanonicalOrder) -> list[Finding]:
    """Lines, then the order: each within rounding (half a minor unit per unit, one per line)."""
    if not order.currency or order.total is None:
        return []  # completeness has said so already
    quantum = money.quantum(order.currency)
    found: list[Finding] = []
    lines_sum = Decimal(0)
    for n, line in enumerate(order.lines):
        if line.unit_price is None or line.quantity is None:
            return found
        computed = line.unit_price * line.quantity
        if line.line_total is not None and abs(computed - line.line_total) > quantum * line.quantity / 2:
            found.append(
                Finding(
                    "money.line",
                    f"lines[{n}].line_total",
                    f"{line.quantity} x {line.unit_price} is {computed}, not {line.line_total}",
                )
            )
        lines_sum += line_total(line.unit_price, line.quantity, line.line_total)
    expected = lines_sum - order.discount + order.shipping + order.fees + order.tax
    if abs(expected - order.total) > quantum * max(len(order.lines), 1):
        found.append(
            Finding(
                "money.total",
                "total",
                f"lines {lines_sum} - discount {order.discount} + shipping {order.shipping} "
                f"+ fees {order.fees} + tax {order.tax} = {expected}, "
                f"but the total is {order.total} {order.currency}",
            )
        )
    return found


# --- state ------------------------------------------------------------------------------------

# The channel's status -> the state the order should be in.
TARGET_STATUS = {
    "pending": OrderStatus.AWAITING_PAYMENT,
    "paid": OrderStatus.FUNDED,
    "fulfilled": OrderStatus.SHIPPED,
    "completed": OrderStatus.COMPLETED,
    "cancelled": OrderStatus.CANCELLED,
}


S = TypeVar("S", bound=str)  # an order status, or a plain string in tests


def path_to(current: S, target: S, moves: Iterable[tuple[S, S]]) -> list[S] | None:
    """The shortest chain of legal moves from `current` to `target` ([] when already there), or None.

    A channel reports states, not moves: "fulfilled" for an order we hold as awaiting payment is
    two legal moves (funded, shipped), each recorded as its own event."""
    if current == target:
        return []
    edges: dict[S, list[S]] = {}
    for a, b in moves:
        edges.setdefault(a, []).append(b)
    frontier: list[list[S]] = [[current]]
    seen = {current}
    while frontier:
        path = frontier.pop(0)
        for nxt in edges.get(path[-1], []):
            if nxt in seen:
                continue
            if nxt == target:
                return [*path[1:], nxt]
            seen.add(nxt)
            frontier.append([*path, nxt])
    return None


def check_test_order(order: CanonicalOrder) -> list[Finding]:
    """A channel's test order is said so: recorded and shown, but it holds no stock, sends nothing
    and counts in no report; a source whose `channel.test_order` rule blocks refuses it."""
    if not order.test:
        return []
    return [Finding("channel.test_order", "test", "the channel marked this a test order: it is not booked")]
