"""The statuses an order can be in: one enum, stored as its plain string value."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    FUNDED = "funded"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"  # everything paid was given back (payments/refunds.py)


STATUSES = tuple(OrderStatus)
# The road an order travels when all goes well, in order; expired, cancelled and refunded leave it.
MILESTONES = (OrderStatus.AWAITING_PAYMENT, OrderStatus.FUNDED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
# Statuses in which payment has been received (and not given back by a cancellation).
PAID_STATUSES = (OrderStatus.FUNDED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
