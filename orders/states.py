"""Order, payment and hold vocabularies. Pure: no database, no I/O."""

from __future__ import annotations

from django.db import models


class OrderState(models.TextChoices):
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    ALLOCATED = "allocated", "Allocated"
    PARTIALLY_ALLOCATED = "partially_allocated", "Partially allocated"
    BACKORDERED = "backordered", "Backordered"
    IN_FULFILLMENT = "in_fulfillment", "In fulfillment"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


ALLOCATABLE = [
    OrderState.PENDING,
    OrderState.ALLOCATED,
    OrderState.PARTIALLY_ALLOCATED,
    OrderState.BACKORDERED,
]
EDITABLE = [OrderState.PENDING, OrderState.ON_HOLD, *ALLOCATABLE[1:]]
# An order in fulfillment can be held too (a refused payment, staff): its open shipments are
# cancelled first (orders.signals.order_recalled), and releasing the hold allocates it again.
HOLDABLE = [*ALLOCATABLE, OrderState.IN_FULFILLMENT]
CANCELLABLE = [*EDITABLE, OrderState.IN_FULFILLMENT]
# Released to a warehouse or partly on its way: open units are still allocated as stock arrives
# (the state stays), and every new allocation becomes a new shipment.
FULFILLING = [OrderState.IN_FULFILLMENT, OrderState.PARTIALLY_SHIPPED]
# Has allocated units a warehouse can be asked to ship (fulfillment's release).
RELEASABLE = [OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED, *FULFILLING]


class HoldKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    ADDRESS = "address", "Address"
    FRAUD = "fraud", "Fraud review"
    MANUAL = "manual", "Manual"
    UNMAPPED_SKU = "unmapped_sku", "Unmapped SKU"
    PAYMENT_DUE = "payment_due", "Payment due"


class PaymentState(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"
    FAILED = "failed", "Failed"


class PaymentPurpose(models.TextChoices):
    """What a payment is for: the order's own authorization, or an off-session charge made later."""

    ORDER = "order", "Order"
    SHIPMENT = "shipment", "Later shipment"
    EDIT = "edit", "Larger total after an edit"


class PaymentOperationKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    REFUND = "refund", "Refund"
    VOID = "void", "Void"
    REAUTHORIZE = "reauthorize", "Re-authorize"
    CHARGE = "charge", "Off-session charge"


class OperationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class OrderEventType(models.TextChoices):
    CREATED = "created", "Created"
    TRANSITION = "transition", "State changed"
    ALLOCATED = "allocated", "Allocated"
    HOLD_ADDED = "hold_added", "Hold added"
    HOLD_RELEASED = "hold_released", "Hold released"
    EDITED = "edited", "Edited"
    ADDRESS_CHANGED = "address_changed", "Address changed"
    CANCELLED = "cancelled", "Cancelled"
    PAYMENT = "payment", "Payment"
    NOTE = "note", "Note"
    SHIPMENT = "shipment", "Shipment"


# Orders owed units: stock that arrives goes to them, oldest first.
WAITING = [
    OrderState.BACKORDERED,
    OrderState.PARTIALLY_ALLOCATED,
    OrderState.IN_FULFILLMENT,
    OrderState.PARTIALLY_SHIPPED,
]
