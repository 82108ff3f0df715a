"""What an order looks like to its buyer (tracking) and to the store's operator, built from a loaded order."""

from __future__ import annotations

from decimal import Decimal

from ordergate import money
from ordergate.orders.models import Order
from ordergate.orders.schemas import (
    ContactOut,
    DiscountOut,
    EventOut,
    MilestoneOut,
    OperatorOrderOut,
    OrderLineOut,
    PaymentOut,
    PaymentRecordOut,
    RefundLineOut,
    RefundOut,
    ShipmentOut,
    TotalsOut,
    TrackingOut,
)
from ordergate.orders.state import milestones
from ordergate.orders.status import OrderStatus
from ordergate.payments.models import Refund
from ordergate.payments.protocol import sealed_context
from ordergate.payments.service import active_instruction, standing
from ordergate.settings import Settings
from ordergate.stores.models import Store


def tracking_url(settings: Settings, store: Store, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/s/{store.slug}/orders/{token}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{name[:1]}•••.{tld}"


def mask_phone(phone: str) -> str:
    return phone[:3] + "•" * max(len(phone) - 6, 0) + phone[-3:]


def _payment(order: Order) -> PaymentOut | None:
    instruction = active_instruction(order)
    if instruction is None:
        return None
    s = standing(instruction, order_status=order.status)
    # format(..., "f"): str() writes an 8-decimal zero as "0E-8", not a decimal string.
    return PaymentOut(
        method=instruction.method,
        kind=instruction.kind,
        asset=instruction.asset,
        amount=money.text(instruction.amount, instruction.asset),
        destination=instruction.destination,
        uri=instruction.uri,
        required_confirmations=instruction.required_confirmations,
        confirmations=s.confirmations,
        received_amount=money.text(s.received, instruction.asset),
        remaining_amount=money.text(s.remaining, instruction.asset),
        expires_at=instruction.expires_at,
        state=s.state,
        details={k: v for k, v in instruction.details.items() if k != "sealed"},
        confirmations_missing=s.confirmations_missing,
    ).with_sealed(_sealed(instruction.id, instruction.details.get("sealed")))


def _sealed(instruction_id: int, sealed: object) -> dict[str, tuple[str, str]]:
    if not isinstance(sealed, dict):
        return {}
    return {
        str(name): (value, sealed_context(instruction_id, str(name)))
        for name, value in sealed.items()
        if isinstance(value, str)
    }


def _tracking_fields(order: Order, store: Store) -> dict[str, object]:
    return {
        "number": order.number,
        "store": store.slug,
        "status": order.status,
        "created_at": order.created_at,
        "milestones": [MilestoneOut(status=s, reached_at=t) for s, t in milestones(order.events)],
        "items": [
            OrderLineOut(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=money.text(line.unit_price, order.currency),
                line_total=money.text(line.line_total, order.currency),
                discount=money.text(line.discount, order.currency),
            )
            for line in order.lines
        ],
        "totals": TotalsOut(
            subtotal=money.text(order.subtotal, order.currency),
            shipping=money.text(order.shipping, order.currency),
            total=money.text(order.total, order.currency),
            currency=order.currency,
            discount=money.text(order.discount, order.currency),
            discounts=[DiscountOut.model_validate(d) for d in order.discounts or []],
        ),
        "payment": _payment(order),
        "shipments": [
            ShipmentOut(
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                evidence=s.evidence,
                shipped_at=s.shipped_at,
            )
            for s in order.shipments
        ],
        "can_refresh": order.status == OrderStatus.EXPIRED,
    }


def tracking_view(order: Order, store: Store, *, token: str, settings: Settings) -> TrackingOut:
    """What the token holder sees: no delivery address, no full email or phone."""
    hint = mask_email(order.email) if order.email else (mask_phone(order.phone) if order.phone else None)
    return TrackingOut(
        token=token,
        tracking_url=tracking_url(settings, store, token),
        contact_hint=hint,
        ship_to_country=(order.delivery or {}).get("country"),
        **_tracking_fields(order, store),
    )


def placed_view(order: Order, store: Store) -> TrackingOut:
    """The order a checkout became, for whoever places that checkout again without the key it was
    placed with: its number, status and totals, no tracking link and nothing of the buyer."""
    return TrackingOut(token=None, tracking_url=None, **_tracking_fields(order, store))


REFUNDED_STATES = ("succeeded", "recorded")


def refund_view(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.public_id,
        amount=money.text(refund.amount, refund.currency),
        currency=refund.currency,
        state=refund.state,
        method=refund.method,
        kind=refund.kind,
        provider_reference=refund.provider_reference,
        reference=refund.reference,
        reason=refund.reason,
        restock=refund.restock,
        lines=[RefundLineOut.model_validate(line) for line in refund.lines or []],
        claim_url=refund.claim_url,
        detail=refund.detail,
        created_at=refund.created_at,
    )


def refunded_total(refunds: list[Refund]) -> Decimal:
    return sum((r.amount for r in refunds if r.state in REFUNDED_STATES), Decimal(0))


def operator_view(order: Order, store: Store) -> OperatorOrderOut:
    """Needs the order loaded by number (its refunds with it)."""
    return OperatorOrderOut(
        refunds=[refund_view(r) for r in order.refunds],
        refunded_amount=money.text(refunded_total(order.refunds), order.currency),
        token=None,
        contact=ContactOut(email=order.email, phone=order.phone),
        delivery=order.delivery,
        ship_to_country=(order.delivery or {}).get("country"),
        events=[
            EventOut(
                type=e.type,
                from_status=e.from_status,
                to_status=e.to_status,
                actor=e.actor,
                data=e.data,
                created_at=e.created_at,
            )
            for e in order.events
        ],
        source=order.source,
        external_id=order.external_id,
        accepted_policies=order.accepted_policies,
        needs_attention=order.needs_attention,
        attention_reason=order.attention_reason,
        test=order.test,
        payments=[
            PaymentRecordOut(
                method=i.method,
                asset=i.asset,
                reference=t.reference,
                amount=money.text(t.amount, i.asset),
                confirmations=t.confirmations,
                late=t.late,
                dropped=t.dropped_at is not None,
                received_at=t.received_at,
            )
            for i in order.instructions
            for t in i.transactions
        ],
        **_tracking_fields(order, store),
    )
