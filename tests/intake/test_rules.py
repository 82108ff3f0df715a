"""The quality rules and the adapters' pure parts, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.intake.adapters.csv import CsvFileError, read_groups
from ordergate.intake.adapters.generic import GenericAdapter, sign
from ordergate.intake.adapters.shopify import ShopifyAdapter
from ordergate.intake.adapters.woo import WooAdapter
from ordergate.intake.apply import INTAKE_MOVES
from ordergate.intake.rules import RULES, Finding, check_money, config_errors, path_to, resolve
from ordergate.intake.schemas import CanonicalOrder
from tests.intake.channel import b64_hmac, fixture


@pytest.fixture
def intake_sources() -> None:
    """No database here."""


def test_paths_follow_the_state_machine() -> None:
    assert path_to("awaiting_payment", "shipped", INTAKE_MOVES) == ["funded", "shipped"]
    assert path_to("funded", "funded", INTAKE_MOVES) == []
    assert path_to("shipped", "cancelled", INTAKE_MOVES) is None
    assert path_to("funded", "awaiting_payment", INTAKE_MOVES) is None
    assert path_to("expired", "awaiting_payment", INTAKE_MOVES) is None  # no refresh for channel orders
    assert path_to("awaiting_payment", "completed", INTAKE_MOVES) == ["funded", "shipped", "completed"]


def test_owners_and_severities_come_from_the_source() -> None:
    findings = [Finding("reference.sku", "lines[0].sku", "x"), Finding("payload.json", "body", "y")]
    issues = resolve(
        findings,
        owner="ops",
        rule_owners={"reference.sku": "catalog"},
        rule_severity={"reference.sku": "warn", "payload.json": "warn"},
    )
    assert [(i.rule, i.owner, i.severity) for i in issues] == [
        ("reference.sku", "catalog", "warn"),
        ("payload.json", "ops", "block"),  # not adjustable
    ]
    assert config_errors({"reference.skus": "x"}, {"state.transition": "warn"}) == [
        "rule_owners: no rule 'reference.skus'",
        "rule_severity: state.transition is always block",
    ]
    assert all(rule.id == key for key, rule in RULES.items())


def _order(lines: list[tuple[str, int]], total: str, **extra: object) -> CanonicalOrder:
    return CanonicalOrder.model_validate(
        {
            "currency": "EUR",
            "lines": [{"sku": "A", "quantity": q, "unit_price": p} for p, q in lines],
            "total": total,
            **extra,
        }
    )


def test_money_adds_up_within_rounding() -> None:
    assert check_money(_order([("10.00", 2), ("0.10", 3)], "20.30")) == []
    assert check_money(_order([("10.00", 2), ("0.10", 3)], "20.32")) == []  # a cent per line
    assert [f.rule for f in check_money(_order([("10.00", 2), ("0.10", 3)], "20.33"))] == ["money.total"]
    taxed = _order([("10.00", 1)], "16.90", shipping="4.90", tax="2.30", discount="1.00", fees="0.70")
    assert check_money(taxed) == []
    bad_line = CanonicalOrder.model_validate(
        {
            "currency": "JPY",
            "lines": [{"quantity": 3, "unit_price": "100", "line_total": "400"}],
            "total": "400",
        }
    )
    assert [(f.rule, f.field) for f in check_money(bad_line)] == [("money.line", "lines[0].line_total")]


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10_000, places=2), st.integers(min_value=1, max_value=50)
        ),
        min_size=1,
        max_size=8,
    ),
    st.decimals(min_value=0, max_value=100, places=2),
)
def test_orders_that_add_up_always_pass(lines: list[tuple[Decimal, int]], shipping: Decimal) -> None:
    total = sum((p * q for p, q in lines), Decimal(0)) + shipping
    order = _order([(str(p), q) for p, q in lines], str(total), shipping=str(shipping))
    assert check_money(order) == []
    off = _order(
        [(str(p), q) for p, q in lines],
        str(total + Decimal("0.01") * (len(lines) + 1)),
        shipping=str(shipping),
    )
    assert [f.rule for f in check_money(off)] == ["money.total"]


def test_shopify_mapping_reads_the_documented_fields() -> None:
    body = json.dumps(fixture("shopify_orders_create.json")).encode()
    mapped = ShopifyAdapter().map("orders/create", body, {})
    assert mapped.findings == []
    assert mapped.order is not None
    order = mapped.order
    assert (order.external_id, order.name, order.status, order.currency) == (
        "5830172049481",
        "#1042",
        "paid",
        "EUR",
    )
    assert order.occurred_at == datetime(2026, 3, 14, 10, 21, 8, tzinfo=UTC)
    assert [(line.sku, line.external_ref, line.quantity) for line in order.lines] == [
        ("FN-NOTEBOOK-A5-DOT", "variant:44870112542537", 2),
        ("PEN-FINE-BLK", "variant:44870112575305", 1),
    ]
    assert (order.shipping, order.tax, order.total) == (Decimal("4.90"), Decimal(0), Decimal("41.80"))
    assert order.delivery is not None
    assert order.delivery.region == "D"
    assert (
        ShopifyAdapter().verify(
            "s3cret", {"x-shopify-hmac-sha256": b64_hmac(body, "s3cret")}, body, now=datetime.now(UTC)
        )
        is None
    )


def test_woo_mapping_and_ping() -> None:
    woo = WooAdapter()
    assert woo.is_ping({}, b"webhook_id=14")
    assert not woo.is_ping({"x-wc-webhook-signature": "x"}, b"webhook_id=14")
    assert not woo.is_ping({}, b'{"id": 1}')
    mapped = woo.map("order.created", json.dumps(fixture("woo_order_created.json")).encode(), {})
    assert mapped.order is not None
    order = mapped.order
    assert (order.status, order.discount, order.tax, order.total) == (
        "paid",
        Decimal("2.40"),
        Decimal("8.31"),
        Decimal("44.41"),
    )
    assert [(line.unit_price, line.line_total) for line in order.lines] == [
        (Decimal("24.00"), Decimal("24.00")),
        (Decimal("3.20"), Decimal("9.60")),
    ]
    assert order.occurred_at == datetime(2026, 3, 14, 12, 4, 53, tzinfo=UTC)


def test_generic_signature() -> None:
    body, now = b"{}", datetime.now(UTC)
    header = sign("k" * 20, body, int(now.timestamp()))
    assert GenericAdapter().verify("k" * 20, {"ordergate-signature": header}, body, now=now) is None
    bad = GenericAdapter().verify("k" * 20, {"ordergate-signature": header}, body + b" ", now=now)
    assert bad is not None
    assert bad.reason == "bad_signature"


def test_csv_file_errors_are_one_clear_message() -> None:
    with pytest.raises(CsvFileError, match="missing columns: quantity, unit_price"):
        read_groups(b"external_id,sku\nA,B\n")
    with pytest.raises(CsvFileError, match="not UTF-8"):
        read_groups(b"external_id,sku,quantity,unit_price\nA,\xff,1,2\n")
    with pytest.raises(CsvFileError, match="unknown columns: colour"):
        read_groups(b"external_id,sku,quantity,unit_price,colour\n")
    with pytest.raises(CsvFileError, match="empty"):
        read_groups(b"")
    groups = read_groups(
        b"\xef\xbb\xbfexternal_id,sku,quantity,unit_price\n,X,1,2\n,Y,1,2\nA,Z,1,1\n\nA,W,2,2\n"
    )
    assert [(g.external_id, g.rows) for g in groups] == [("", [2]), ("", [3]), ("A", [4, 6])]
