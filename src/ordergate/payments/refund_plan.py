"""What a refund gives back: the amount asked, or the value of the lines asked (what each line paid,
after its bundle discount), checked against what was paid and not yet refunded."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from ordergate import money
from ordergate.errors import Conflict, Unprocessable
from ordergate.orders.models import Order
from ordergate.orders.schemas import RefundIn
from ordergate.payments.models import Refund


class RefundTooLarge(Conflict):
    type, title = "refund-exceeds-paid", "More than was paid and not yet refunded"


@dataclass(frozen=True)
class Plan:
    amount: Decimal
    lines: list[dict[str, object]]


def _net_share(net: Decimal, units: int, of: int, currency: str) -> Decimal:
    """What `units` of a line of `of` units paid, its bundle discount spread over all of them."""
    return money.quantize(net * units / of, currency) if of else Decimal(0)


def _lines_value(
    data: RefundIn, ordered: Counter[str], nets: dict[str, Decimal], already: Counter[str], currency: str
) -> tuple[list[dict[str, object]], Decimal]:
    """The lines asked for, checked against what the order has and what was refunded already."""
    assert data.lines is not None
    wanted: Counter[str] = Counter()
    for n, item in enumerate(data.lines):
        if item.sku not in ordered:
            raise Unprocessable(f"{item.sku} is not a line of this order", field=f"lines[{n}].sku")
        wanted[item.sku] += item.quantity
        left = ordered[item.sku] - already[item.sku]
        if wanted[item.sku] > left:
            raise RefundTooLarge(
                f"{left} of {item.sku} can still be refunded on this order", field=f"lines[{n}].quantity"
            )
    lines: list[dict[str, object]] = [{"sku": sku, "quantity": q} for sku, q in wanted.items()]
    # The share of units already refunded plus these, less the share already refunded: refunding a
    # line in any number of steps adds up to exactly what the line paid.
    value = sum(
        (
            _net_share(nets[sku], already[sku] + q, ordered[sku], currency)
            - _net_share(nets[sku], already[sku], ordered[sku], currency)
            for sku, q in wanted.items()
        ),
        Decimal(0),
    )
    return lines, value


def plan_refund(order: Order, data: RefundIn, refunds: list[Refund], remaining: Decimal) -> Plan:
    """The refund asked for, as an amount and the lines it takes back; 409 past `remaining`."""
    ordered: Counter[str] = Counter()
    nets: dict[str, Decimal] = {}  # what each SKU's lines paid: their totals less bundle discounts
    for line in order.lines:
        ordered[line.sku] += line.quantity
        nets[line.sku] = nets.get(line.sku, Decimal(0)) + line.line_total - line.discount
    already: Counter[str] = Counter()
    for refund in refunds:
        for done in refund.lines or []:
            already[str(done["sku"])] += int(done["quantity"])
    lines: list[dict[str, object]] = []
    if data.lines:
        lines, value = _lines_value(data, ordered, nets, already, order.currency)
        amount = data.amount if data.amount is not None else money.quantize(value, order.currency)
    elif data.amount is None:  # everything not yet refunded
        left = {sku: q - already[sku] for sku, q in ordered.items()}
        lines = [{"sku": sku, "quantity": q} for sku, q in left.items() if q > 0]
        amount = remaining
    else:
        amount = data.amount
    if money.quantize(amount, order.currency) != amount:
        raise Unprocessable(
            f"{order.currency} amounts have at most {money.exponent(order.currency)} decimals", field="amount"
        )
    if amount > remaining:
        raise RefundTooLarge(
            f"At most {money.text(remaining, order.currency)} {order.currency} can still be refunded "
            "on this order",
            field="amount",
        )
    return Plan(amount=amount, lines=lines)
