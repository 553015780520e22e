"""The words of the room: event types, delivery states, email kinds."""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created", "Order created"
    ORDER_ALLOCATED = "order.allocated", "Order allocated"
    ORDER_SHIPPED = "order.shipped", "Order shipped"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    RETURN_RECEIVED = "return.received", "Return received"
    REFUND_ISSUED = "refund.issued", "Refund issued"
    STOCK_LOW = "stock.low", "Stock low"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Failed, will retry"
    SUCCEEDED = "succeeded", "Delivered"
    DEAD = "dead", "Gave up"


DELIVERY_DONE = (DeliveryState.SUCCEEDED, DeliveryState.DEAD)


class EmailKind(models.TextChoices):
    ORDER_CONFIRMED = "order_confirmed", "Order confirmed (customer)"
    REFUND_ISSUED = "refund_issued", "Refund issued (customer)"
    INBOUND_DEAD = "inbound_dead", "Inbound event dead-lettered (staff)"
    STOCKOUT = "stockout", "Stockout (staff)"


STAFF_KINDS = (EmailKind.INBOUND_DEAD, EmailKind.STOCKOUT)
# Off until the tenant saves an enabled template for them: marketplaces and most storefronts
# confirm orders themselves (a customer should not get two), and a stockout alert per stock row
# is for merchants who ask for it (stock.low tells their systems).
OFF_BY_DEFAULT = frozenset({EmailKind.ORDER_CONFIRMED, EmailKind.STOCKOUT})


class EmailState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"


EMAIL_DONE = (EmailState.SENT, EmailState.SKIPPED)
