"""Every table, imported in one place so metadata and migrations see the whole schema."""

from ordergate.catalog.models import Product
from ordergate.checkout.models import Checkout
from ordergate.db import Base
from ordergate.orders.models import Order, OrderEvent, OrderLine, Shipment
from ordergate.payments.models import PaymentInstruction, PaymentTransaction
from ordergate.stores.models import OperatorKey, PaymentMethod, Policy, Store

__all__ = [
    "Base",
    "Checkout",
    "OperatorKey",
    "Order",
    "OrderEvent",
    "OrderLine",
    "PaymentInstruction",
    "PaymentMethod",
    "PaymentTransaction",
    "Policy",
    "Product",
    "Shipment",
    "Store",
]
