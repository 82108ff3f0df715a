"""Console settings page: guest checkout, policies (each change a new version), delivery fields,
payment methods, notification channels and the loyalty rule; one form per group, each through the
same service as the admin API (stores/admin.py), errors beside their fields, what was typed kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.console.frame import ADMIN_PATH, ConsoleOperator, clean, form_ok, page, stale_form
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, field_path
from ordergate.settings import Settings
from ordergate.stores import admin
from ordergate.stores.schemas import CHANNELS, DELIVERY_FIELD_NAMES, StoreSettingsPatch
from ordergate.stores.service import guest_checkout, method_readiness
from ordergate.web.common import see_other
from ordergate.web.forms import DELIVERY_LABELS, FormErrors
from ordergate.web.wording import guest_checkout_reason

router = APIRouter(prefix=f"{ADMIN_PATH}/settings", include_in_schema=False)

DONE = {
    "guest": "Guest checkout saved. Buyers see it now.",
    "policy": "New policy version published. Buyers accept this version from now on.",
    "delivery": "Delivery fields saved.",
    "payments": "Payment methods saved.",
    "notifications": "Notification channels saved.",
    "loyalty": "Loyalty rule saved.",
}
CHANNEL_LABELS = {"email": "Email", "sms": "Text messages (SMS)"}
READINESS_WORDS = {
    "disabled": "Turned off",
    "unknown_kind": "Unknown kind",
}


def form_key(api_field: str) -> str:
    """Where an error about a settings field (its API name) is shown on the page."""
    head, _, rest = api_field.partition(".")
    head = head.split("[", 1)[0]
    if head == "policies" and rest:
        key, _, part = rest.partition(".")
        return f"policy-{key}.{part.split('.', 1)[0] or 'summary'}"
    if head == "payment_methods" and rest:
        return f"payments.{rest.partition('.')[0]}"
    return {
        "guest_checkout_enabled": "guest.enabled",
        "guest_checkout_note": "guest.note",
        "delivery_fields": "delivery.fields",
        "delivery_fields_optional": "delivery.fields",
        "notification_channels": "notifications.channels",
        "loyalty_points_per_unit": "loyalty.points",
    }.get(head, "")


def _transports(settings: Settings) -> dict[str, str]:
    return {
        "email": "Sent through the SMTP server in ORDERGATE_SMTP_URL."
        if settings.smtp_url
        else "Written to a folder on the server: ORDERGATE_SMTP_URL is not set.",
        "sms": "Sent through the SMS provider in ORDERGATE_SMS_URL."
        if settings.sms_url
        else "Written to a folder on the server: ORDERGATE_SMS_URL is not set.",
    }


async def _settings_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    operator: Operator,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    submitted: str = "",
    status: int = 200,
) -> Response:
    store = operator.store
    view = await admin.settings_document(session, store, settings=settings)
    guest = guest_checkout(store, settings=settings)
    readiness = {m.key: method_readiness(m, settings=settings) for m in store.payment_methods}
    delivery = {
        name: "required"
        if name in store.delivery_fields
        else "optional"
        if name in (store.delivery_fields_optional or [])
        else "off"
        for name in DELIVERY_FIELD_NAMES
    }
    by_country = {
        name: sorted(c for c, names in (store.delivery_fields_by_country or {}).items() if name in names)
        for name in DELIVERY_FIELD_NAMES
    }
    notice = DONE.get(request.query_params.get("done", "")) if status == 200 else None
    return page(
        request,
        settings,
        "admin_settings.html",
        store,
        operator,
        section="settings",
        status=status,
        view=view,
        guest_words=None
        if guest.available
        else guest_checkout_reason(guest.reason, store.guest_checkout_note),
        off_words=guest_checkout_reason("disabled"),
        readiness=readiness,
        readiness_words=READINESS_WORDS,
        delivery=delivery,
        by_country=by_country,
        delivery_labels=DELIVERY_LABELS,
        channels=CHANNELS,
        channel_labels=CHANNEL_LABELS,
        transports=_transports(settings),
        errors=errors or FormErrors(),
        values=dict(values or {}),
        submitted=submitted,
        notice=notice,
    )


@router.get("")
async def settings_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _settings_page(request, session, settings, found)


def _patch_of(form: str, values: Mapping[str, str], operator: Operator, policy: str = "") -> dict[str, Any]:
    """The settings patch (API shape) a section's form asks for."""
    if form == "guest":
        return {"guest_checkout_enabled": "enabled" in values, "guest_checkout_note": values.get("note", "")}
    if form == "policy":
        wording: dict[str, Any] = {
            "title": values.get("title", "").strip(),
            "summary": values.get("summary", ""),
        }
        if values.get("version", "").strip():
            wording["version"] = values["version"].strip()
        return {"policies": {policy: wording}}
    if form == "delivery":
        chosen = {name: values.get(f"field-{name}", "off") for name in DELIVERY_FIELD_NAMES}
        return {
            "delivery_fields": [n for n, how in chosen.items() if how == "required"],
            "delivery_fields_optional": [n for n, how in chosen.items() if how == "optional"],
        }
    if form == "payments":
        return {
            "payment_methods": {
                m.key: {"enabled": f"method-{m.key}" in values} for m in operator.store.payment_methods
            }
        }
    if form == "notifications":
        return {"notification_channels": [c for c in CHANNELS if f"channel-{c}" in values]}
    points = values.get("points", "").strip()
    return {"loyalty_points_per_unit": points or "0"}


async def _submit(
    request: Request, session: AsyncSession, settings: Settings, found: Operator, form: str, policy: str = ""
) -> Response:
    data = await request.form()
    values = {key: clean(value, 2000) for key, value in data.items() if key != "csrf"}
    prefix = f"policy-{policy}" if form == "policy" else form
    shown = {f"{prefix}.{key}": value for key, value in values.items()}
    if not form_ok(request, data.get("csrf")):
        return await _settings_page(
            request, session, settings, found, errors=stale_form(), values=shown, submitted=prefix, status=403
        )
    errors = FormErrors()
    try:
        patch = StoreSettingsPatch.model_validate(_patch_of(form, values, found, policy))
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            errors.add(form_key(field_path(err.get("loc", ()))), _words(message))
        return await _settings_page(
            request, session, settings, found, errors=errors, values=shown, submitted=prefix, status=422
        )
    try:
        async with session.begin_nested():
            await admin.update_settings(
                session, found.store.slug, patch, settings=settings, actor=found.actor
            )
    except DomainError as exc:
        for problem in exc.errors:
            errors.add(form_key(problem.field), problem.message)
        if not exc.errors:
            errors.add("", exc.detail)
        return await _settings_page(
            request,
            session,
            settings,
            found,
            errors=errors,
            values=shown,
            submitted=prefix,
            status=exc.status,
        )
    anchor = f"policy-{policy}-title" if form == "policy" else f"{form}-title"
    return see_other(f"{ADMIN_PATH}/settings?done={form}#{anchor}")


def _words(message: str) -> str:
    """A validator's message as an operator at the form needs it."""
    if message.startswith("Input should be greater than or equal to 0"):
        return "Enter 0 or more points (0 turns loyalty points off)"
    if message.startswith("Input should be less than or equal to"):
        return "At most 1000 points per unit"
    if message.startswith(("Input should be a valid decimal", "Decimal input should")):
        return "Enter a number of points, like 1 or 0.5"
    if message.startswith("String should match pattern"):
        return "Use letters, digits, dots, dashes or underscores (at most 32), like 2026-12"
    if message.startswith("String should have at least 1"):
        return "Enter the policy's title"
    if message.startswith("String should have at most"):
        return "That is too long: use " + message.removeprefix("String should have ")
    return message


@router.post("/guest")
async def guest_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, found, "guest")


@router.post("/policies/{policy}")
async def policy_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator, policy: str
) -> Response:
    key = clean(policy, 64)
    if key not in {p.key for p in found.store.policies}:
        errors = FormErrors()
        errors.add("", "This store has no such policy: nothing was changed.")
        return await _settings_page(request, session, settings, found, errors=errors, status=404)
    return await _submit(request, session, settings, found, "policy", key)


@router.post("/delivery")
async def delivery_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, found, "delivery")


@router.post("/payments")
async def payments_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, found, "payments")


@router.post("/notifications")
async def notifications_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, found, "notifications")


@router.post("/loyalty")
async def loyalty_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    return await _submit(request, session, settings, found, "loyalty")
