"""Every table, imported in one place so metadata and migrations see the whole schema."""

from ordergate.accounts.models import (
    Account,
    AccountContact,
    AccountSession,
    LoyaltyEntry,
    Passkey,
    PasskeyChallenge,
    VerificationCode,
)
from ordergate.audit.models import AuditEntry
from ordergate.catalog.models import Product
from ordergate.checkout.models import Checkout
from ordergate.console.models import ConsoleSession, StaffMember
from ordergate.db import Base
from ordergate.intake.models import IntakeAttempt, IntakeIssue, IntakePayload, IntakeSource, SkuMapping
from ordergate.notifications.models import OutboxMessage
from ordergate.orders.models import Order, OrderEvent, OrderLine, Shipment
from ordergate.payments.models import (
    OnchainWallet,
    PaymentInstruction,
    PaymentTransaction,
    PaymentWebhookEvent,
)
from ordergate.ratelimit import RateLimitCounter
from ordergate.recommendations.models import Bundle, FoldCursor, ProductPair, SuggestionAdd
from ordergate.stores.models import OperatorKey, PaymentMethod, Policy, PolicyVersion, Store

__all__ = [
    "Account",
    "AccountContact",
    "AccountSession",
    "AuditEntry",
    "Base",
    "Bundle",
    "Checkout",
    "ConsoleSession",
    "FoldCursor",
    "IntakeAttempt",
    "IntakeIssue",
    "IntakePayload",
    "IntakeSource",
    "LoyaltyEntry",
    "OnchainWallet",
    "OperatorKey",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OutboxMessage",
    "Passkey",
    "PasskeyChallenge",
    "PaymentInstruction",
    "PaymentMethod",
    "PaymentTransaction",
    "PaymentWebhookEvent",
    "Policy",
    "PolicyVersion",
    "Product",
    "ProductPair",
    "RateLimitCounter",
    "Shipment",
    "SkuMapping",
    "StaffMember",
    "Store",
    "SuggestionAdd",
    "VerificationCode",
]
