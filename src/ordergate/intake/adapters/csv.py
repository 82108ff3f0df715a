"""CSV files of orders, one row per order line (as shops export them), imported with
`ordergate intake import FILE --source NAME`.

Rows with the same `external_id` are one order and one payload; order-level columns are read from
the first row that fills them. The stored payload is the header plus that order's rows, so a
correction is the same CSV text with its mistakes fixed."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordergate.intake.adapters.base import BadSignature, Envelope, Mapped, canonical, decode, parse_time
from ordergate.intake.rules import Finding
from ordergate.intake.schemas import CanonicalOrder

REQUIRED_COLUMNS = ("external_id", "sku", "quantity", "unit_price")
ORDER_COLUMNS = (
    "event",
    "status",
    "occurred_at",
    "name",
    "currency",
    "email",
    "phone",
    "ship_name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "shipping",
    "fees",
    "discount",
    "tax",
    "total",
    "payment_method",
    "carrier",
    "tracking_number",
)
LINE_COLUMNS = ("sku", "line_name", "quantity", "unit_price", "line_total")
COLUMNS = ("external_id", *ORDER_COLUMNS, *LINE_COLUMNS)


class CsvFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, required columns missing)."""


@dataclass(frozen=True)
class Group:
    external_id: str
    rows: list[int]  # 1-based line numbers in the file, the header being line 1
    text: str  # header and rows as CSV


def read_groups(data: bytes) -> list[Group]:
    text, found = decode(data.removeprefix(b"\xef\xbb\xbf"))
    if text is None:
        raise CsvFileError(found[0].message)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvFileError("the file is empty") from None
    except csv.Error as exc:
        raise CsvFileError(f"line 1: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CsvFileError(f"missing columns: {', '.join(missing)} (the header is line 1)")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise CsvFileError(f"unknown columns: {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    key = header.index("external_id")
    # Keyed by id; a row without one is an order of its own (line number as key), quarantined for it.
    groups: dict[tuple[str, int], list[tuple[int, list[str]]]] = {}
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            external_id = row[key].strip() if key < len(row) else ""
            group_key = (external_id, 0 if external_id else reader.line_num)
            groups.setdefault(group_key, []).append((reader.line_num, row))
    except csv.Error as exc:
        raise CsvFileError(f"line {reader.line_num}: {exc}") from None
    out = []
    for (external_id, _), rows in groups.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(r for _, r in rows)
        out.append(Group(external_id, [n for n, _ in rows], buffer.getvalue()))
    return out


def _none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


class CsvAdapter:
    kind = "csv"
    http = False

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def marks_test(self, headers: Mapping[str, str]) -> bool:
        return False  # no test flag in this channel's transport (the generic body may carry one)

    def envelope(self, headers: Mapping[str, str]) -> Envelope:
        return Envelope(topic="csv", headers=dict(headers))

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> BadSignature | None:
        return BadSignature("body", "bad_signature", "CSV sources take files through the CLI only")

    def store_check(
        self, headers: Mapping[str, str], order: CanonicalOrder, settings: Mapping[str, Any], store: str
    ) -> list[Finding]:
        return []

    def map(self, topic: str, body: bytes, settings: Mapping[str, Any]) -> Mapped:
        text, found = decode(body)
        if text is None:
            return Mapped(None, found)
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            return Mapped(None, [Finding("payload.json", "body", f"not CSV: {exc}")])
        if not rows or any(c not in rows[0] for c in REQUIRED_COLUMNS):
            return Mapped(
                None,
                [Finding("payload.json", "body", f"expected a header with {', '.join(REQUIRED_COLUMNS)}")],
            )

        def first(column: str) -> str | None:
            return next((v for r in rows if (v := _none(r.get(column)))), None)

        try:
            occurred = parse_time(first("occurred_at"), naive_is_utc=True)
        except ValueError as exc:
            return Mapped(None, [Finding("payload.shape", "occurred_at", str(exc))], first("external_id"))
        raw: dict[str, Any] = {
            "event": first("event") or "create",
            "external_id": first("external_id"),
            "name": first("name"),
            "status": first("status") or "pending",
            "occurred_at": occurred,
            "currency": first("currency"),
            "contact": {"email": first("email"), "phone": first("phone")},
            "delivery": {
                "name": first("ship_name"),
                "address_line1": first("address_line1"),
                "address_line2": first("address_line2"),
                "city": first("city"),
                "region": first("region"),
                "postal_code": first("postal_code"),
                "country": first("country"),
            },
            "lines": [
                {
                    "sku": _none(r.get("sku")),
                    "name": _none(r.get("line_name")),
                    "quantity": _none(r.get("quantity")),
                    "unit_price": _none(r.get("unit_price")),
                    "line_total": _none(r.get("line_total")),
                }
                for r in rows
            ],
            "total": first("total"),
            "payment_method": first("payment_method"),
        }
        for money_field in ("shipping", "fees", "discount", "tax"):
            if value := first(money_field):
                raw[money_field] = value
        if first("carrier") or first("tracking_number"):
            raw["shipment"] = {"carrier": first("carrier"), "tracking_number": first("tracking_number")}
        mapped = canonical(raw, found)
        if mapped.order is not None and mapped.order.event == "cancel":
            mapped.order.status = "cancelled"
        return mapped
