"""SKUs, warehouses, stock per SKU and warehouse, the stock ledger, and checkout reservations.

available = on_hand - allocated - reserved, all three kept on the StockLevel row, so one
guarded UPDATE (or a row lock) decides whether a unit can be promised.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from oms.core.models import TenantOwned
from oms.core.money import non_negative_checks, validate_non_negative


class SKU(TenantOwned):
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, help_text="Barcode or GTIN")
    weight_grams = models.PositiveIntegerField(default=0)
    length_mm = models.PositiveIntegerField(default=0)
    width_mm = models.PositiveIntegerField(default=0)
    height_mm = models.PositiveIntegerField(default=0)
    hs_code = models.CharField(max_length=16, blank=True)
    country_of_origin = models.CharField(max_length=2, blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, validators=[validate_non_negative]
    )
    returnable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    lead_time_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days from reorder to receipt; empty uses the warehouse default"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SKU"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="sku_unique_code"),
            *non_negative_checks("sku", "price"),
        ]
        indexes = [models.Index(fields=["tenant", "barcode"], name="sku_barcode_idx")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Warehouse(TenantOwned):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200, blank=True)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower ships first on a tie")
    active = models.BooleanField(default=True)
    ships_to = models.JSONField(default=list, blank=True, help_text="Country codes; empty means anywhere")
    cutoff_time = models.TimeField(null=True, blank=True, help_text="Daily order cutoff, local time")
    default_lead_time_days = models.PositiveSmallIntegerField(
        default=14, help_text="Replenishment lead time for SKUs that do not set their own"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="warehouse_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class StockLevel(TenantOwned):
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    reorder_point = models.PositiveIntegerField(default=0)
    safety_stock = models.PositiveIntegerField(default=0)
    bin_location = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku__code", "warehouse__priority"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku", "warehouse"], name="stocklevel_unique_sku_wh"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stocklevel_allocated_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stocklevel_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("allocated") + F("reserved")), name="stocklevel_never_oversold"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "warehouse", "sku"], name="stocklevel_wh_sku_idx")]

    def __str__(self) -> str:
        return (
            f"{self.sku.code} at {self.warehouse.code}: {self.on_hand} on hand, "
            f"{self.allocated} allocated, {self.reserved} reserved"
        )

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated - self.reserved


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    ADJUSTMENT = "adjustment", "Adjustment"
    DAMAGE = "damage", "Damage"
    COUNT = "count", "Cycle count"
    SHIPMENT = "shipment", "Shipment"
    RETURN_RESTOCK = "return_restock", "Return restock"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"


class StockMovement(TenantOwned):
    """The ledger: one row for every change of on_hand. on_hand is the sum of deltas."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    delta = models.IntegerField()
    on_hand_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    reference = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "stock_level", "created_at"], name="movement_level_time_idx")
        ]

    def __str__(self) -> str:
        where = f"{self.sku.code} at {self.warehouse.code}"
        text = f"{self.get_reason_display()} {self.delta:+d} × {where}"
        return f"{text} ({self.reference})" if self.reference else text


class ReservationState(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    CONSUMED = "consumed", "Turned into an order"


class Reservation(TenantOwned):
    """A storefront checkout hold: units set aside until it expires, is released or becomes an order."""

    state = models.CharField(max_length=10, choices=ReservationState.choices, default=ReservationState.ACTIVE)
    expires_at = models.DateTimeField()
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "state", "expires_at"], name="reservation_expiry_idx")]

    def __str__(self) -> str:
        return f"Reservation {self.reference or self.pk} ({self.get_state_display().lower()})"


class ReservationLine(TenantOwned):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku.code} at {self.warehouse.code}"


class InboundKind(models.TextChoices):
    PURCHASE_ORDER = "purchase_order", "Purchase order"
    TRANSFER = "transfer", "Transfer between warehouses"


class InboundState(models.TextChoices):
    EXPECTED = "expected", "Expected"
    IN_TRANSIT = "in_transit", "In transit"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


OPEN_INBOUND_STATES = (InboundState.EXPECTED, InboundState.IN_TRANSIT, InboundState.PARTIALLY_RECEIVED)


class InboundShipment(TenantOwned):
    """Stock on its way to a warehouse: a purchase order from a supplier or a transfer in transit."""

    kind = models.CharField(max_length=20, choices=InboundKind.choices, default=InboundKind.PURCHASE_ORDER)
    state = models.CharField(max_length=20, choices=InboundState.choices, default=InboundState.EXPECTED)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="inbound_shipments")
    source_warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_transfers"
    )
    reference = models.CharField(max_length=200, blank=True, help_text="PO number or transfer reference")
    supplier = models.CharField(max_length=200, blank=True)
    expected_at = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expected_at", "id"]
        indexes = [models.Index(fields=["tenant", "state", "expected_at"], name="inbound_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference or self.pk} ({self.get_state_display().lower()})"


class InboundLine(TenantOwned):
    shipment = models.ForeignKey(InboundShipment, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    quantity_expected = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "shipment", "sku"], name="inboundline_unique_sku"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_expected")),
                name="inboundline_received_lte_expected",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "sku"], name="inboundline_sku_idx")]

    def __str__(self) -> str:
        return f"{self.sku.code}: {self.quantity_received} of {self.quantity_expected} received"

    @property
    def quantity_outstanding(self) -> int:
        return self.quantity_expected - self.quantity_received
