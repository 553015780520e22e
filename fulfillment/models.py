"""Shipments (one per order and warehouse), their lines, parcels, labels and tracking events;
pick lists; which warehouses a member works in; the tenant's fulfillment settings.

Transitions change state in memory only; the services own the transaction, the row lock, the
save and the side effects.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fulfillment.states import (
    DEPARTED,
    LIVE_LABEL,
    OPEN,
    TRACKABLE,
    LabelState,
    NotificationKind,
    NotificationState,
    PickListKind,
    PickListState,
    RatePolicy,
    ShipmentState,
    ShortReason,
)
from oms.core.models import TenantOwned
from oms.core.money import validate_non_negative

S = ShipmentState


class FulfillmentSettings(TenantOwned):
    """One row per tenant (made on first use with these defaults)."""

    auto_release = models.BooleanField(
        default=True, help_text="Make shipments as soon as an order is allocated (else staff release orders)"
    )
    rate_policy = models.CharField(max_length=20, choices=RatePolicy.choices, default=RatePolicy.CHEAPEST)
    label_file_type = models.CharField(max_length=16, default="PDF_4x6")
    carrier_provider = models.CharField(max_length=20, default="shippo")
    auto_pick_lists = models.BooleanField(
        default=False, help_text="Batch pending shipments into pick lists on a schedule"
    )
    pick_list_size = models.PositiveSmallIntegerField(
        default=50, help_text="Most shipments in one automatic list"
    )
    quiet_tracking_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Poll the carrier for a shipment whose tracking has been quiet this long"
    )
    # Customer emails; empty means the house template (templates/fulfillment/email/).
    shipped_email_subject = models.CharField(max_length=200, blank=True)
    shipped_email_body = models.TextField(blank=True)
    delivered_email_subject = models.CharField(max_length=200, blank=True)
    delivered_email_body = models.TextField(blank=True)
    email_from = models.EmailField(blank=True)

    class Meta:
        verbose_name_plural = "fulfillment settings"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="fulfillmentsettings_unique_tenant")]

    def __str__(self) -> str:
        return "Fulfillment settings"


class WarehouseAssignment(TenantOwned):
    """A member works in this warehouse. Members with the warehouse role see only their warehouses'
    pages; owners and managers see every warehouse."""

    membership = models.ForeignKey("oms.Membership", on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "membership", "warehouse"], name="warehouseassignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} works at {self.warehouse.code}"


class PickList(TenantOwned):
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=PickListKind.choices, default=PickListKind.BATCH)
    state = models.CharField(max_length=10, choices=PickListState.choices, default=PickListState.OPEN)
    filters = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "warehouse", "state"], name="picklist_wh_state_idx")]

    def __str__(self) -> str:
        return f"Pick list {self.pk}"


class Shipment(ConcurrentTransitionMixin, TenantOwned):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    pick_list = models.ForeignKey(
        PickList, on_delete=models.SET_NULL, null=True, blank=True, related_name="shipments"
    )
    number = models.CharField(max_length=48)
    state = FSMField(default=S.PENDING, choices=S.choices, protected=True)
    service_level = models.CharField(max_length=32, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    service = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    label_url = models.URLField(max_length=500, blank=True)
    tracking_status = models.CharField(max_length=20, blank=True)
    # The carrier platform's shipment (rates belong to it) and the rates last quoted.
    carrier_shipment_id = models.CharField(max_length=64, blank=True)
    rates = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    rates_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        max_length=500, blank=True, help_text="The last carrier error staff should see"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_tracking_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="shipment_unique_number")]
        indexes = [
            models.Index(fields=["tenant", "warehouse", "state"], name="shipment_wh_state_idx"),
            models.Index(fields=["tenant", "order"], name="shipment_order_idx"),
            models.Index(fields=["tenant", "state", "last_tracking_at"], name="shipment_tracking_idx"),
            models.Index(fields=["tenant", "carrier", "tracking_number"], name="shipment_tracking_no_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    # --- transitions: in memory only -------------------------------------------------
    @transition(field=state, source=S.PENDING, target=S.PICKING)
    def start_picking(self) -> None:
        pass

    @transition(field=state, source=[S.PENDING, S.PICKING], target=S.PACKED)
    def pack(self) -> None:
        pass

    @transition(field=state, source=S.PACKED, target=S.LABEL_PURCHASED)
    def label_bought(self) -> None:
        pass

    @transition(field=state, source=S.LABEL_PURCHASED, target=S.PACKED)
    def label_voided(self) -> None:
        pass

    @transition(field=state, source=[S.PENDING, S.PICKING, S.PACKED, S.LABEL_PURCHASED], target=S.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(field=state, source=[S.SHIPPED, S.EXCEPTION], target=S.IN_TRANSIT)
    def in_transit(self) -> None:
        pass

    @transition(field=state, source=TRACKABLE, target=S.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=state, source=TRACKABLE, target=S.EXCEPTION)
    def exception(self) -> None:
        pass

    @transition(field=state, source=TRACKABLE, target=S.RETURNED_TO_SENDER)
    def returned(self) -> None:
        pass

    @transition(field=state, source=OPEN, target=S.CANCELLED)
    def cancel(self, *, reason: str = "") -> None:
        self.cancel_reason = reason[:500]


assert set(OPEN) | set(DEPARTED) | {S.CANCELLED} == set(S.values)


class ShipmentLine(TenantOwned):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_picked = models.PositiveIntegerField(default=0)
    quantity_packed = models.PositiveIntegerField(default=0)
    quantity_short = models.PositiveIntegerField(default=0)
    short_reason = models.CharField(max_length=20, choices=ShortReason.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shipment", "order_line"], name="shipmentline_unique"),
            models.CheckConstraint(
                condition=Q(quantity_picked__lte=models.F("quantity")), name="shipmentline_picked_lte_qty"
            ),
            models.CheckConstraint(
                condition=Q(quantity_packed__lte=models.F("quantity")), name="shipmentline_packed_lte_qty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku.code}"

    @property
    def to_pick(self) -> int:
        return self.quantity - self.quantity_picked


class Parcel(TenantOwned):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="parcels")
    weight_grams = models.PositiveIntegerField()
    length_mm = models.PositiveIntegerField(default=0)
    width_mm = models.PositiveIntegerField(default=0)
    height_mm = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Parcel of {self.weight_grams} g"


class Label(TenantOwned):
    """One purchase at the carrier. Written (pending) in the transaction that asks for it, before the
    carrier is called; `reference` is ours and is sent along, so an unknown outcome is looked up
    by it before buying again. At most one live (pending or purchased) label per shipment."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="labels")
    reference = models.CharField(max_length=80)
    state = models.CharField(max_length=20, choices=LabelState.choices, default=LabelState.PENDING)
    is_return = models.BooleanField(default=False)
    provider = models.CharField(max_length=20, default="shippo")
    rate_id = models.CharField(max_length=64, blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    service = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[validate_non_negative]
    )
    currency = models.CharField(max_length=3, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    label_url = models.URLField(max_length=500, blank=True)
    label_file = models.FileField(upload_to="labels/%Y/%m/", blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The lease of the worker talking to the carrier about this label: while it runs no other
    # worker calls the carrier for it (two deliveries of one task never buy twice).
    locked_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], name="label_unique_reference"),
            models.UniqueConstraint(
                fields=["tenant", "shipment"],
                condition=Q(state__in=LIVE_LABEL, is_return=False),
                name="label_one_live_per_shipment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number or self.reference} ({self.state})"


class TrackingEvent(TenantOwned):
    """A carrier status, once: deliveries repeat and arrive out of order (integrations.md 2.3)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    status = models.CharField(max_length=20)
    status_details = models.CharField(max_length=500, blank=True)
    status_date = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, default="webhook")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "shipment", "status", "status_date"], name="trackingevent_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.status.replace('_', ' ').capitalize()} at {self.status_date:%Y-%m-%d %H:%M}"


class ShipmentNotification(TenantOwned):
    """Who was told about a shipment, once per kind: the customer's shipped and delivered emails,
    the tracking pushed to the order's channel (fulfillment/notifications.py).

    A task claims the row (a lease: `claimed_at`) before it calls out, and marks it sent,
    skipped or failed after; a rerun finds it done and tells no one again.
    """

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    recipient = models.CharField(max_length=254, blank=True, help_text="An email address or a channel")
    subject = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True, help_text="Why it was skipped or failed")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "shipment", "kind"], name="shipmentnotification_unique_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_state_display()}"
