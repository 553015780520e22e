"""Shipment, pick-list and label vocabularies. Pure: no database, no I/O."""

from __future__ import annotations

from django.db import models


class ShipmentState(models.TextChoices):
    PENDING = "pending", "Pending"
    PICKING = "picking", "Picking"
    PACKED = "packed", "Packed"
    LABEL_PURCHASED = "label_purchased", "Label purchased"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    RETURNED_TO_SENDER = "returned_to_sender", "Returned to sender"
    CANCELLED = "cancelled", "Cancelled"


# Still in the warehouse: its units are allocated stock, it can be cancelled.
OPEN = [ShipmentState.PENDING, ShipmentState.PICKING, ShipmentState.PACKED, ShipmentState.LABEL_PURCHASED]
# Left the warehouse: stock has gone out through the ledger.
DEPARTED = [
    ShipmentState.SHIPPED,
    ShipmentState.IN_TRANSIT,
    ShipmentState.DELIVERED,
    ShipmentState.EXCEPTION,
    ShipmentState.RETURNED_TO_SENDER,
]
# Tracking may still move it.
TRACKABLE = [ShipmentState.SHIPPED, ShipmentState.IN_TRANSIT, ShipmentState.EXCEPTION]


class PickListState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class PickListKind(models.TextChoices):
    SINGLE = "single", "Single order"
    BATCH = "batch", "Batch (wave)"


class LabelState(models.TextChoices):
    PENDING = "pending", "Purchase requested"
    PURCHASED = "purchased", "Purchased"
    FAILED = "failed", "Failed"
    VOID_REQUESTED = "void_requested", "Void requested"
    VOIDED = "voided", "Voided"


# At most one label of a shipment is in one of these states (a unique constraint says so).
LIVE_LABEL = [LabelState.PENDING, LabelState.PURCHASED]


class ShortReason(models.TextChoices):
    NOT_FOUND = "not_found", "Not found"
    DAMAGED = "damaged", "Damaged"


class RatePolicy(models.TextChoices):
    CHEAPEST = "cheapest", "Cheapest"
    FASTEST = "fastest", "Fastest"
    CHEAPEST_ON_TIME = "cheapest_on_time", "Cheapest that meets the service level or promised date"


class TrackingStatus(models.TextChoices):
    """Shippo's tracking statuses (integrations.md 2.3), the vocabulary of every carrier adapter."""

    UNKNOWN = "UNKNOWN", "Unknown"
    PRE_TRANSIT = "PRE_TRANSIT", "Pre-transit"
    TRANSIT = "TRANSIT", "In transit"
    DELIVERED = "DELIVERED", "Delivered"
    RETURNED = "RETURNED", "Returned to sender"
    FAILURE = "FAILURE", "Failure"


class NotificationKind(models.TextChoices):
    """What is told about a shipment, once each: the customer's emails, the order's channel."""

    SHIPPED_EMAIL = "shipped_email", "Shipped email"
    DELIVERED_EMAIL = "delivered_email", "Delivered email"
    CHANNEL_TRACKING = "channel_tracking", "Tracking pushed to the channel"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


# Outcomes that are final: a rerun finds them and tells no one again.
NOTIFICATION_DONE = [NotificationState.SENT, NotificationState.SKIPPED, NotificationState.FAILED]
