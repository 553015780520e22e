"""Returns: the tenant's return policy, return requests (RMAs), their lines, what arrived of each line,
the replacement lines of an exchange, and the refunds made for a return.

Transitions change state in memory only; the services (returns/services.py, refunds.py,
exchanges.py) own the transaction, the row locks, the save and the side effects.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from oms.core.models import TenantOwned
from oms.core.money import validate_non_negative
from returns.states import (
    CANCELLABLE,
    RECEIVABLE,
    Condition,
    Disposition,
    LabelPayer,
    RefundState,
    Resolution,
    ReturnReason,
    ReturnSource,
    ReturnState,
)

R = ReturnState

MONEY = {
    "max_digits": 12,
    "decimal_places": 2,
    "default": Decimal("0.00"),
    "validators": [validate_non_negative],
}


class ReturnPolicy(TenantOwned):
    """One row per tenant (made with these defaults on first use)."""

    window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(3650)],
        help_text="Days a customer may open a return, counted from delivery (from shipment when the "
        "carrier never reported a delivery)",
    )
    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent of the returned goods' value kept on a refund, unless the reason is the "
        "merchant's fault (defective, damaged, wrong item, not as described)",
    )
    label_payer = models.CharField(
        max_length=10,
        choices=LabelPayer.choices,
        default=LabelPayer.MERCHANT,
        help_text="Who pays the return label: the customer's share is deducted from the refund",
    )
    return_labels = models.BooleanField(
        default=True, help_text="Buy a return label (emailed to the customer) when a return is authorized"
    )

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="returnpolicy_unique_tenant"),
            models.CheckConstraint(
                condition=Q(restocking_fee_percent__gte=0, restocking_fee_percent__lte=100),
                name="returnpolicy_fee_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return "Return policy"


class ReturnRequest(ConcurrentTransitionMixin, TenantOwned):
    """An RMA: what a customer sends back from one order, and what became of it."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    rma_number = models.CharField(max_length=48)
    state = FSMField(default=R.REQUESTED, choices=R.choices, protected=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, default=Resolution.REFUND)
    source = models.CharField(max_length=20, choices=ReturnSource.choices, default=ReturnSource.API)
    external_id = models.CharField(
        max_length=128, blank=True, help_text="The marketplace's own id of this return"
    )
    # Where it comes back to: the warehouse of the shipment that sent the goods (and its label).
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipment = models.ForeignKey(
        "fulfillment.Shipment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = models.ForeignKey(
        "fulfillment.Label", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_status = models.CharField(max_length=20, blank=True)
    label_emailed_at = models.DateTimeField(null=True, blank=True)
    label_email_claimed_at = models.DateTimeField(null=True, blank=True)
    customer_note = models.CharField(max_length=1000, blank=True)
    staff_note = models.CharField(max_length=500, blank=True, help_text="Why it was rejected or closed")
    restocking_fee = models.DecimalField(**MONEY)
    label_cost = models.DecimalField(**MONEY)
    refund_amount = models.DecimalField(**MONEY, help_text="What staff decided to give back")
    exchange_order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rma_number"], name="return_unique_rma"),
            models.UniqueConstraint(
                fields=["tenant", "source", "external_id"],
                condition=~Q(external_id=""),
                name="return_unique_external",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "created_at"], name="return_state_time_idx"),
            models.Index(fields=["tenant", "order"], name="return_order_idx"),
            models.Index(fields=["tenant", "tracking_number"], name="return_tracking_idx"),
        ]

    def __str__(self) -> str:
        return self.rma_number

    # --- transitions: in memory only -------------------------------------------------
    @transition(field=state, source=R.REQUESTED, target=R.AUTHORIZED)
    def authorize(self) -> None:
        pass

    @transition(field=state, source=[R.REQUESTED, R.AUTHORIZED], target=R.REJECTED)
    def reject(self, *, reason: str) -> None:
        self.staff_note = reason[:500]

    @transition(field=state, source=R.AUTHORIZED, target=R.LABEL_SENT)
    def label_sent(self) -> None:
        pass

    @transition(field=state, source=[R.AUTHORIZED, R.LABEL_SENT], target=R.IN_TRANSIT)
    def in_transit(self) -> None:
        pass

    @transition(field=state, source=RECEIVABLE, target=R.RECEIVED)
    def receive(self) -> None:
        pass

    @transition(field=state, source=R.RECEIVED, target=R.INSPECTED)
    def inspect(self) -> None:
        pass

    @transition(field=state, source=R.INSPECTED, target=R.REFUNDED)
    def refunded(self) -> None:
        pass

    @transition(field=state, source=R.INSPECTED, target=R.EXCHANGED)
    def exchanged(self) -> None:
        pass

    @transition(field=state, source=[R.RECEIVED, R.INSPECTED], target=R.CLOSED)
    def close(self, *, reason: str) -> None:
        self.staff_note = reason[:500]

    @transition(field=state, source=CANCELLABLE, target=R.CANCELLED)
    def cancel(self, *, reason: str = "") -> None:
        self.staff_note = reason[:500]


class ReturnLine(TenantOwned):
    """Units of one order line the customer sends back, and why."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    note = models.CharField(max_length=500, blank=True)
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "return_request", "order_line"], name="returnline_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returnline_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")), name="returnline_received_lte_qty"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "sku"], name="returnline_sku_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku.code}"

    @property
    def quantity_expected(self) -> int:
        return self.quantity - self.quantity_received


class ReturnReceipt(TenantOwned):
    """Units of a line that arrived, in one condition, given one disposition. A line whose units
    differ (one as new, one torn) has several receipts."""

    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="receipts")
    quantity = models.PositiveIntegerField()
    condition = models.CharField(max_length=10, choices=Condition.choices)
    disposition = models.CharField(max_length=10, choices=Disposition.choices)
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    received_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returnreceipt_quantity_gt_0")
        ]

    def __str__(self) -> str:
        condition, disposition = self.get_condition_display(), self.get_disposition_display()
        return f"{self.quantity} {condition.lower()} → {disposition.lower()}"


class ReturnExchangeLine(TenantOwned):
    """What the customer wants instead, for an exchange."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="exchange_lines")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returnexchangeline_quantity_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku.code}"


class ReturnRefund(TenantOwned):
    """Money given back for a return from one payment of the order, through the payment services
    (`orders.payments.services.payment_refund`, request_ref `return-refund:<id>`: once)."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey("orders.Payment", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    state = models.CharField(max_length=10, choices=RefundState.choices, default=RefundState.PENDING)
    provider_id = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="returnrefund_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.amount} ({self.state})"

    @property
    def request_ref(self) -> str:
        return f"return-refund:{self.pk}"
