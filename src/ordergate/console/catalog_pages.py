"""Console catalog pages: the product list (with low stock), a new product, one product's edit form,
its stock changes and ledger, archive and restore, and the catalog as CSV or store-file TOML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.catalog import admin
from ordergate.catalog.admin_schemas import ProductIn, ProductPatch, StockIn
from ordergate.catalog.config import export_toml
from ordergate.catalog.transfer import export_csv
from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.settings import Settings
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors, validate_part

router = APIRouter(prefix=f"{ADMIN_PATH}/products", include_in_schema=False)

PRODUCT_FIELDS = ("sku", "name", "price", "description", "image_url", "on_hand", "low_stock_threshold")
EDIT_FIELDS = ("name", "price", "description", "image_url", "low_stock_threshold")
REQUIRED = {
    "product.sku": "Enter the SKU",
    "product.name": "Enter the product's name",
    "product.price": "Enter the price, like 12.50",
    "stock.reason": "Say why the stock changes (count, breakage, delivery)",
}
WHOLE = "Enter a whole number, like 12"
DONE = {
    "created": "Product created. It is on sale now.",
    "saved": "Changes saved.",
    "stock": "Stock changed.",
    "archived": "Product archived: it is no longer on sale. Orders already placed are unchanged.",
    "restored": "Product restored: it is on sale again.",
}
KIND_LABELS = {
    "adjustment": "Adjustment",
    "import": "Import",
    "config": "Store file",
    "order_funded": "Order paid",
    "order_returned": "Paid order cancelled",
    "order_released": "Hold released",
    "order_reserved": "Hold taken",
    "refund_restock": "Refund restock",
}


def _download(text: str, filename: str, media_type: str) -> Response:
    return Response(
        text,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("")
async def products_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    query = request.query_params
    filters = {
        "q": clean(query.get("q"), 100).strip(),
        "status": clean(query.get("status"), 16).strip(),
        "low": "1" if query.get("low") in ("1", "true", "on") else "",
    }
    errors = FormErrors()
    items: list[Any] = []
    try:
        listing = await admin.list_admin_products(
            session,
            found.store,
            status=filters["status"] or None,
            q=filters["q"] or None,
            low=bool(filters["low"]),
        )
        items = listing.items
    except DomainError as exc:
        for err in exc.errors:
            errors.add(err.field if err.field in filters else "", err.message)
    low_count = len((await admin.list_admin_products(session, found.store, low=True)).items)
    notice = DONE.get(query.get("done", ""))
    return page(
        request,
        settings,
        "admin_products.html",
        found.store,
        found,
        section="products",
        status=422 if errors else 200,
        products=items,
        filters=filters,
        filtered=any(filters.values()),
        errors=errors,
        low_count=low_count,
        notice=notice,
    )


@router.get("/export.csv")
async def export_products_csv(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    text = await export_csv(session, found.store)
    return _download(text, f"{found.store.slug}-products.csv", "text/csv; charset=utf-8")


@router.get("/export.toml")
async def export_products_toml(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    text = await export_toml(session, found.store)
    return _download(text, f"{found.store.slug}-products.toml", "application/toml; charset=utf-8")


def _new_page(
    request: Request,
    settings: Settings,
    operator: Operator,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        settings,
        "admin_product_new.html",
        operator.store,
        operator,
        section="products",
        status=status,
        errors=errors or FormErrors(),
        values=dict(values or {}),
    )


@router.get("/new")
async def new_product_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return _new_page(request, settings, found)


def _required(values: Mapping[str, str], form: str, names: tuple[str, ...], errors: FormErrors) -> None:
    for name in names:
        key = f"{form}.{name}"
        if key in REQUIRED and not values.get(name, "").strip():
            errors.add(key, REQUIRED[key])


def _whole(values: Mapping[str, str], form: str, name: str, errors: FormErrors) -> int | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or len(raw) > 10:
        errors.add(f"{form}.{name}", WHOLE)
        return None
    return int(raw)


def _product_in(values: Mapping[str, str], errors: FormErrors) -> ProductIn | None:
    _required(values, "product", ("sku", "name", "price"), errors)
    wanted: dict[str, object] = {
        k: values.get(k, "") for k in ("sku", "name", "price", "description", "image_url")
    }
    on_hand = _whole(values, "product", "on_hand", errors)
    threshold = _whole(values, "product", "low_stock_threshold", errors)
    wanted["on_hand"] = on_hand or 0
    if threshold is not None:
        wanted["low_stock_threshold"] = threshold
    parsed = validate_part(ProductIn, wanted, "product", errors)
    return None if errors else parsed


def _form_values(data: Mapping[str, Any]) -> dict[str, str]:
    return {key: clean(value, 2000) for key, value in data.items() if key != "csrf"}


@router.post("")
async def create_product_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    data = await request.form()
    values = _form_values(data)
    shown = {f"product.{k}": v for k, v in values.items()}
    if not form_ok(request, data.get("csrf")):
        return _new_page(request, settings, found, errors=stale_form(), values=shown, status=403)
    errors = FormErrors()
    parsed = _product_in(values, errors)
    if parsed is None or errors:
        return _new_page(request, settings, found, errors=errors, values=shown, status=422)
    try:
        async with session.begin_nested():
            product = await admin.create_product(session, found.store, parsed, actor=found.actor)
    except DomainError as exc:
        _place(exc, errors, "product", PRODUCT_FIELDS)
        return _new_page(request, settings, found, errors=errors, values=shown, status=exc.status)
    return see_other(f"{ADMIN_PATH}/products/{product.sku}?done=created")


def _place(exc: DomainError, errors: FormErrors, form: str, known: tuple[str, ...]) -> None:
    if not exc.errors:
        errors.add("", exc.detail)
    for err in exc.errors:
        errors.add(f"{form}.{err.field}" if err.field in known else "", err.message)


async def _product_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    sku: str,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        product = await admin.get_product(session, operator.store, clean(sku, 64))
    except NotFound:
        return page(
            request,
            settings,
            "admin_message.html",
            operator.store,
            operator,
            section="products",
            status=404,
            title="Product not found",
            body="There is no product with this SKU in this store.",
            link=(f"{ADMIN_PATH}/products", "Back to products"),
        )
    view = admin.product_view(product, operator.store)
    ledger = await admin.movements(session, operator.store, product.sku, limit=100)
    notice = DONE.get(request.query_params.get("done", "")) if status == 200 else None
    return page(
        request,
        settings,
        "admin_product.html",
        operator.store,
        operator,
        section="products",
        status=status,
        product=view,
        movements=ledger.movements,
        kind_labels=KIND_LABELS,
        errors=errors or FormErrors(),
        values=dict(values or {}),
        notice=notice,
        page_path=f"{ADMIN_PATH}/products/{product.sku}",
    )


@router.get("/{sku}")
async def product_page(
    request: Request, session: Session, settings: AppSettings, sku: str, found: ConsoleOperator
) -> Response:
    return await _product_page(request, session, settings, found, sku)


async def _submit(
    request: Request, session: AsyncSession, settings: Settings, sku: str, form: str, found: Operator
) -> Response:
    """One change from the product page: edit, stock, archive or restore; the page again with the
    errors beside their fields (and what was typed kept) when it is refused."""
    data = await request.form()
    values = _form_values(data)
    shown = {f"{form}.{k}": v for k, v in values.items()}
    if not form_ok(request, data.get("csrf")):
        return await _product_page(
            request, session, settings, found, sku, errors=stale_form(), values=shown, status=403
        )
    errors = FormErrors()
    store, actor, sku = found.store, found.actor, clean(sku, 64)
    try:
        async with session.begin_nested():
            if form == "product":
                patch = _patch(values, errors)
                if patch is not None and not errors:
                    await admin.update_product(session, store, sku, patch, actor=actor)
            elif form == "stock":
                change = _stock(values, errors)
                if change is not None and not errors:
                    await admin.set_stock(session, store, sku, change, actor=actor)
            else:
                await admin.update_product(session, store, sku, ProductPatch(status=form), actor=actor)
    except NotFound:
        return await _product_page(request, session, settings, found, sku)
    except DomainError as exc:
        known = EDIT_FIELDS if form == "product" else ("delta", "on_hand", "reason")
        before = set(errors.fields)
        _place(exc, errors, form, known)
        if form == "stock":
            _to_amount(errors, before)
        return await _product_page(
            request, session, settings, found, sku, errors=errors, values=shown, status=exc.status
        )
    if errors:
        return await _product_page(
            request, session, settings, found, sku, errors=errors, values=shown, status=422
        )
    done = {"product": "saved", "stock": "stock", "archived": "archived", "active": "restored"}[form]
    return see_other(f"{ADMIN_PATH}/products/{sku}?done={done}")


def _patch(values: Mapping[str, str], errors: FormErrors) -> ProductPatch | None:
    _required(values, "product", ("name", "price"), errors)
    wanted: dict[str, object] = {k: values.get(k, "") for k in ("name", "price", "description", "image_url")}
    wanted["low_stock_threshold"] = _whole(values, "product", "low_stock_threshold", errors)
    if errors:
        return None
    return validate_part(ProductPatch, wanted, "product", errors)


def _stock(values: Mapping[str, str], errors: FormErrors) -> StockIn | None:
    _required(values, "stock", ("reason",), errors)
    mode = values.get("mode", "delta")
    amount = values.get("amount", "").strip()
    if not amount:
        errors.add("stock.amount", "Enter how many units" if mode == "delta" else "Enter the counted units")
        return None
    number = _whole(values, "stock", "amount", errors)
    if number is None or errors:
        return None
    wanted: dict[str, object] = {"reason": values.get("reason", "")}
    wanted["on_hand" if mode == "count" else "delta"] = number
    before = set(errors.fields)
    parsed = validate_part(StockIn, wanted, "stock", errors)
    _to_amount(errors, before)
    return parsed


def _to_amount(errors: FormErrors, before: set[str]) -> None:
    """The stock form has one number box for a delta or a count: their errors are shown beside it."""
    for field in set(errors.fields) - before:
        if field.startswith("stock.") and field != "stock.reason":
            message = errors.fields.pop(field)
            errors.fields.setdefault("stock.amount", message)


@router.post("/{sku}")
async def edit_submit(
    request: Request, session: Session, settings: AppSettings, sku: str, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, sku, "product", found)


@router.post("/{sku}/stock")
async def stock_submit(
    request: Request, session: Session, settings: AppSettings, sku: str, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, sku, "stock", found)


@router.post("/{sku}/archive")
async def archive_submit(
    request: Request, session: Session, settings: AppSettings, sku: str, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, sku, "archived", found)


@router.post("/{sku}/restore")
async def restore_submit(
    request: Request, session: Session, settings: AppSettings, sku: str, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, sku, "active", found)
