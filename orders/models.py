"""Customers, addresses, orders and their lines, allocations, holds, events and payments.

Transitions change state in memory only; services in orders/services.py own the
transaction, the row lock, the save and the side effects.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from oms.core.models import TenantOwned
from oms.core.money import non_negative_checks, validate_currency, validate_non_negative
from orders.states import (
    ALLOCATABLE,
    CANCELLABLE,
    HOLDABLE,
    HoldKind,
    OperationState,
    OrderEventType,
    OrderState,
    PaymentOperationKind,
    PaymentPurpose,
    PaymentState,
)

MONEY = {
    "max_digits": 12,
    "decimal_places": 2,
    "default": Decimal("0.00"),
    "validators": [validate_non_negative],
}


class Customer(TenantOwned):
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "email"], name="customer_unique_email")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Address(TenantOwned):
    """A postal address as given. Orders point at one; a change makes a new row, so history stays."""

    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return ", ".join(p for p in [self.line1, self.city, self.postal_code, self.country] if p)

    def as_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in ADDRESS_FIELDS}


# What an address is made of, read from the model: services copy these, as_dict gives them.
ADDRESS_FIELDS: tuple[str, ...] = tuple(
    f.name for f in Address._meta.concrete_fields if f.name not in ("id", "tenant")
)


class OrderNumber(TenantOwned):
    """The per-tenant counter behind the human-friendly order number."""

    last_value = models.PositiveBigIntegerField(default=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ordernumber_one_per_tenant")]

    def __str__(self) -> str:
        return f"Last order number {self.last_value}"


class Order(ConcurrentTransitionMixin, TenantOwned):
    channel = models.CharField(max_length=32, default="api")
    external_id = models.CharField(max_length=128)
    number = models.CharField(max_length=32)
    state = FSMField(default=OrderState.PENDING, choices=OrderState.choices, protected=True)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    subtotal = models.DecimalField(**MONEY)
    shipping_price = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    ship_to = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="+")
    bill_to = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    service_level = models.CharField(max_length=32, default="standard")
    allocation_plan = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    promise_date = models.DateField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    placed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "external_id"], name="order_unique_external"
            ),
            models.UniqueConstraint(fields=["tenant", "number"], name="order_unique_number"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
            *non_negative_checks("order", "subtotal", "shipping_price", "tax", "discount"),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "placed_at"], name="order_state_time_idx"),
            models.Index(fields=["tenant", "state", "id"], name="order_state_id_idx"),
            models.Index(fields=["tenant", "created_at"], name="order_created_idx"),
            models.Index(fields=["tenant", "placed_at"], name="order_time_idx"),
            models.Index(fields=["tenant", "customer"], name="order_customer_idx"),
            # The storefront list of one channel, newest first (`-id`); the whole list walks the
            # primary key (tenant_id, id) on PostgreSQL.
            models.Index(fields=["tenant", "channel", "id"], name="order_channel_id_idx"),
            # built concurrently on PostgreSQL by orders/0012
            models.Index(fields=["tenant", "external_id"], name="order_external_id_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    # --- transitions: in memory only -------------------------------------------------
    @transition(field=state, source=HOLDABLE, target=OrderState.ON_HOLD)
    def hold(self) -> None:
        pass

    @transition(field=state, source=OrderState.ON_HOLD, target=OrderState.PENDING)
    def release(self) -> None:
        pass

    @transition(
        field=state,
        source=ALLOCATABLE,
        target=RETURN_VALUE(OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED, OrderState.BACKORDERED),
    )
    def apply_allocation(self, *, outcome: str) -> str:
        return outcome

    @transition(
        field=state,
        source=[OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED],
        target=OrderState.IN_FULFILLMENT,
    )
    def start_fulfillment(self) -> None:
        pass

    @transition(
        field=state,
        source=OrderState.IN_FULFILLMENT,
        target=RETURN_VALUE(OrderState.ALLOCATED, OrderState.PARTIALLY_ALLOCATED, OrderState.BACKORDERED),
    )
    def stop_fulfillment(self, *, outcome: str) -> str:
        """Its shipments were all cancelled before any left: back to where allocation put it."""
        return outcome

    @transition(
        field=state,
        source=[
            OrderState.ALLOCATED,
            OrderState.PARTIALLY_ALLOCATED,
            OrderState.IN_FULFILLMENT,
            OrderState.PARTIALLY_SHIPPED,
            OrderState.BACKORDERED,
        ],
        target=RETURN_VALUE(OrderState.PARTIALLY_SHIPPED, OrderState.SHIPPED),
    )
    def record_shipment(self, *, complete: bool) -> str:
        return OrderState.SHIPPED if complete else OrderState.PARTIALLY_SHIPPED

    @transition(field=state, source=OrderState.SHIPPED, target=OrderState.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=state, source=OrderState.DELIVERED, target=OrderState.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=state, source=CANCELLABLE, target=OrderState.CANCELLED)
    def cancel(self, *, reason: str) -> None:
        self.cancel_reason = reason[:500]


class OrderLine(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
            *non_negative_checks("orderline", "unit_price", "tax", "discount"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_allocated") + F("quantity_shipped")),
                name="orderline_never_over_allocated",
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__gte=F("quantity_returned")),
                name="orderline_returned_lte_shipped",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "sku"], name="orderline_sku_idx"),
            # The lines still waiting for units, by SKU: "does an older order wait for this SKU"
            # on every placement (orders/fastpath.py) and what the waiting are owed, without
            # walking the SKU's fulfilled history.
            models.Index(
                fields=["tenant", "sku"],
                condition=Q(quantity__gt=F("quantity_allocated") + F("quantity_shipped")),
                name="orderline_open_sku_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku.code}"

    @property
    def quantity_backordered(self) -> int:
        return max(self.quantity - self.quantity_allocated - self.quantity_shipped, 0)

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Allocation(TenantOwned):
    """Units of one order line promised from one warehouse's stock."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    stock_level = models.ForeignKey("inventory.StockLevel", on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order_line", "stock_level"], name="allocation_unique_line_stock"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="allocation_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} from {self.warehouse.code}"


class Hold(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(max_length=20, choices=HoldKind.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "order", "kind"],
                condition=Q(released_at__isnull=True),
                name="hold_one_active_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class OrderEvent(TenantOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=OrderEventType.choices)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "order", "created_at"], name="orderevent_order_time_idx")]

    def __str__(self) -> str:
        labels = dict(OrderState.choices)
        moved = (
            f": {labels.get(self.from_state, self.from_state)} → {labels.get(self.to_state, self.to_state)}"
            if self.from_state and self.to_state
            else ""
        )
        return f"{self.get_type_display()}{moved}"


class Payment(ConcurrentTransitionMixin, TenantOwned):
    """One payment instrument's authorization on an order (a Stripe PaymentIntent)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    provider_id = models.CharField(max_length=128, blank=True)
    payment_method = models.CharField(max_length=128, blank=True)
    state = FSMField(default=PaymentState.PENDING, choices=PaymentState.choices, protected=True)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    amount_authorized = models.DecimalField(**MONEY)
    amount_captured = models.DecimalField(**MONEY)
    amount_refunded = models.DecimalField(**MONEY)
    authorized_at = models.DateTimeField(null=True, blank=True)
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    purpose = models.CharField(max_length=12, choices=PaymentPurpose.choices, default=PaymentPurpose.ORDER)
    # Set on the off-session charge made for a later shipment (split capture "per_shipment").
    shipment_ref = models.CharField(max_length=128, blank=True)
    # The authorization this one replaced before it expired (payment_reauthorize).
    reauthorized_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_captured")), name="payment_refunded_lte_captured"
            ),
            models.UniqueConstraint(
                fields=["tenant", "order", "shipment_ref"],
                condition=~Q(shipment_ref=""),
                name="payment_one_charge_per_shipment",
            ),
            models.CheckConstraint(condition=Q(amount_refunded__gte=0), name="payment_refunded_gte_0"),
            models.CheckConstraint(condition=Q(amount_captured__gte=0), name="payment_captured_gte_0"),
            *non_negative_checks("payment", "amount_authorized"),
        ]
        indexes = [models.Index(fields=["tenant", "provider", "provider_id"], name="payment_provider_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_id or self.pk} ({self.get_state_display().lower()})"

    @property
    def refundable(self) -> Decimal:
        return self.amount_captured - self.amount_refunded

    @transition(
        field=state, source=[PaymentState.PENDING, PaymentState.AUTHORIZED], target=PaymentState.AUTHORIZED
    )
    def authorize(self) -> None:
        pass

    @transition(
        field=state, source=[PaymentState.PENDING, PaymentState.AUTHORIZED], target=PaymentState.FAILED
    )
    def fail(self) -> None:
        pass

    @transition(
        field=state, source=[PaymentState.AUTHORIZED, PaymentState.PENDING], target=PaymentState.CAPTURED
    )
    def capture(self) -> None:
        pass

    @transition(
        field=state, source=[PaymentState.AUTHORIZED, PaymentState.PENDING], target=PaymentState.VOIDED
    )
    def void(self) -> None:
        pass

    @transition(
        field=state,
        source=[PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED],
        target=RETURN_VALUE(PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED),
    )
    def record_refund(self) -> str:
        """Follow amount_refunded (also back down when a reserved refund is given back)."""
        if self.amount_refunded <= 0:
            return PaymentState.CAPTURED
        if self.amount_refunded >= self.amount_captured:
            return PaymentState.REFUNDED
        return PaymentState.PARTIALLY_REFUNDED


class PaymentOperation(TenantOwned):
    """Every write we send to a payment provider, stored before the first attempt.

    The idempotency key is derived from our own ids and is unique, so a retried task or
    ten concurrent refund calls for one request reach the provider as one operation.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="operations")
    kind = models.CharField(max_length=20, choices=PaymentOperationKind.choices)
    amount = models.DecimalField(**MONEY)
    idempotency_key = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=OperationState.choices, default=OperationState.PENDING)
    provider_id = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Whoever holds this lease is talking to the provider; others wait for the result.
    locked_until = models.DateTimeField(null=True, blank=True)
    # The provider's answer (GatewayResult without the raw body), replayed to retried callers.
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="paymentop_unique_key"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="paymentop_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.state})"


class BackorderSweepRequest(TenantOwned):
    """Stock of this SKU may have become free: its backorders wait for a sweep (orders/backorders.py).

    One row per (tenant, SKU) while a sweep is owed: later stock changes of the SKU only count
    themselves in `requests` until a sweep takes the row (deletes it) and allocates.
    """

    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, related_name="+")
    requests = models.PositiveIntegerField(default=1)
    requested_at = models.DateTimeField()  # the first stock change that asked
    ticketed_at = models.DateTimeField()  # when the last sweep task for it was enqueued

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sku"], name="backordersweeprequest_unique_sku"),
        ]

    def __str__(self) -> str:
        return f"Backorder sweep owed for {self.sku.code} ({self.requests} request(s))"
