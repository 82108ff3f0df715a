"""Products and stock in and out as CSV: one row per product, each row's outcome reported."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.audit.service import Actor
from ordergate.catalog.admin import apply_patch, create_product, set_stock
from ordergate.catalog.admin_schemas import ProductIn, ProductPatch, RowOutcome, StockIn
from ordergate.catalog.models import Product
from ordergate.errors import DomainError, field_path
from ordergate.stores.models import Store

COLUMNS = ("sku", "name", "price", "description", "image_url", "status", "on_hand", "low_stock_threshold")
REQUIRED = ("sku",)
MAX_ROWS = 100_000
FORMULA_STARTS = ("=", "+", "-", "@")


class CsvProblem(ValueError):
    """The file as a whole cannot be read (no header, unknown columns, not UTF-8)."""


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, cells) for each row; blank cells are left out (they mean "leave as is")."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvProblem("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CsvProblem("the file has no header row")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CsvProblem(f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}")
    if "sku" not in header:
        raise CsvProblem("the header has no sku column")
    reader.fieldnames = header
    rows = []
    for raw in reader:
        cells = {
            k: _unquoted((v or "").strip()) for k, v in raw.items() if k is not None and (v or "").strip()
        }
        rows.append((reader.line_num, cells))
        if len(rows) > MAX_ROWS:
            raise CsvProblem(f"at most {MAX_ROWS} rows per file")
    return rows


def _number(cells: Mapping[str, str], name: str) -> int | None:
    if name not in cells:
        return None
    try:
        return int(cells[name])
    except ValueError:
        raise _RowError([f"{name}: {cells[name]!r} is not a whole number"]) from None


class _RowError(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _validation_messages(exc: ValidationError) -> list[str]:
    return [f"{field_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]


async def import_row(
    session: AsyncSession, store: Store, line: int, cells: Mapping[str, str], *, actor: Actor
) -> RowOutcome:
    """One row: a new SKU is created (name and price needed), a known one gets the cells given;
    `on_hand` is the counted stock (a ledger row of kind `import`). Raises nothing: a refused row
    is an `error` outcome, and the caller rolls its transaction back."""
    sku = cells.get("sku", "")
    try:
        if "price" in cells:
            try:
                Decimal(cells["price"])
            except InvalidOperation:
                raise _RowError([f"price: {cells['price']!r} is not a number"]) from None
        on_hand = _number(cells, "on_hand")
        threshold = _number(cells, "low_stock_threshold")
        fields = {
            k: v for k, v in cells.items() if k in ("name", "price", "description", "image_url", "status")
        }
        if threshold is not None:
            fields["low_stock_threshold"] = threshold  # type: ignore[assignment]
        existing = await session.scalar(
            select(Product).where(Product.store_id == store.id, Product.sku == sku)
        )
        if existing is None:
            try:
                data = ProductIn.model_validate({"sku": sku, **fields, "on_hand": on_hand or 0})
            except ValidationError as exc:
                raise _RowError(_validation_messages(exc)) from None
            await create_product(session, store, data, actor=actor)
            return RowOutcome(row=line, sku=sku, outcome="created")
        try:
            patch = ProductPatch.model_validate(fields)
        except ValidationError as exc:
            raise _RowError(_validation_messages(exc)) from None
        changed = apply_patch(existing, store, patch)
        if changed:
            detail = patch.model_dump(mode="json", exclude_unset=True)
            await actor.record(session, store_id=store.id, action="product.edit", target=sku, detail=detail)
        if on_hand is not None and on_hand != existing.on_hand:
            try:
                stock = StockIn(on_hand=on_hand, reason="CSV import")
            except ValidationError as exc:
                raise _RowError(_validation_messages(exc)) from None
            await set_stock(session, store, sku, stock, actor=actor, kind="import")
            changed = True
        await session.flush()
        return RowOutcome(row=line, sku=sku, outcome="updated" if changed else "unchanged")
    except _RowError as exc:
        return RowOutcome(row=line, sku=sku, outcome="error", errors=exc.messages)
    except DomainError as exc:
        messages = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
        return RowOutcome(row=line, sku=sku, outcome="error", errors=messages)


async def export_rows(session: AsyncSession, store: Store) -> list[list[str]]:
    rows = await session.scalars(
        select(Product).where(Product.store_id == store.id).order_by(Product.position, Product.id)
    )
    return [
        [
            p.sku,
            p.name,
            money.text(p.price, store.currency),
            p.description,
            p.image_url or "",
            "active" if p.active else "archived",
            str(p.on_hand),
            "" if p.low_stock_threshold is None else str(p.low_stock_threshold),
        ]
        for p in rows
    ]


async def export_csv(session: AsyncSession, store: Store) -> str:
    """The catalog as the CSV the import reads back (stock as counted on-hand)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in await export_rows(session, store):
        writer.writerow([_safe_cell(cell) for cell in row])
    return buffer.getvalue()


def _unquoted(value: str) -> str:
    """The export's spreadsheet guard taken off again, so a file round-trips."""
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_STARTS else value


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets: quote it as text.
    return "'" + value if value[:1] in FORMULA_STARTS else value
