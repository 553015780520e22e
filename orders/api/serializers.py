"""Shapes of the storefront Orders API (see the API contract). Parsing and rendering only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from inventory.selectors import reservation_exists, skus_by_code
from oms.core.api import ID_MAX
from oms.core.money import currency_exponent, fits_currency
from oms.core.serializers import (
    AddressSerializer,
    BodySerializer,
    BoundedIntegerField,
    CurrencyField,
    model_integer,
)
from oms.models import PaymentGatewayChoice
from orders.api.shipments import order_shipments_field
from orders.models import Order, OrderLine
from orders.payments.gateway import gateway_for
from orders.states import OrderState


class CustomerSerializer(BodySerializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class LineInputSerializer(BodySerializer):
    sku = serializers.CharField(max_length=64)
    quantity = model_integer(OrderLine, "quantity", min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )


class PaymentInputSerializer(BodySerializer):
    provider = serializers.ChoiceField(
        choices=PaymentGatewayChoice.choices,
        required=False,
        help_text="Default: the merchant's configured payment gateway.",
    )
    payment_method = serializers.CharField(max_length=128)


def _checked_lines(lines: list[dict[str, Any]], context: dict[str, Any]) -> list[dict[str, Any]]:
    """Each SKU once, and each one a known, active SKU of this tenant. The SKUs found are left in
    the context (`skus`, by code) for the service, which then need not look them up again."""
    errors: dict[str, Any] = {}
    seen: set[str] = set()
    known = skus_by_code(tenant=context["tenant"], codes=[x["sku"] for x in lines])
    context["skus"] = known
    for index, line in enumerate(lines):
        code = line["sku"]
        if code in seen:
            problem = serializers.ErrorDetail("This SKU is on another line too.", "duplicate_sku")
        elif code not in known:
            problem = serializers.ErrorDetail(f"Unknown SKU {code!r}.", "unknown_sku")
        elif not known[code].active:
            problem = serializers.ErrorDetail(f"SKU {code!r} is not active.", "inactive_sku")
        else:
            problem = None
        if problem is not None:
            errors[str(index)] = {"sku": [problem]}
        seen.add(code)
    if errors:
        raise serializers.ValidationError(errors)
    return lines


def _amounts_fit_currency(attrs: dict[str, Any], currency: str) -> dict[str, Any]:
    """No amount finer than the currency's minor unit: 19.99 is not an amount of JPY."""
    errors: dict[str, list[serializers.ErrorDetail]] = {}
    message = f"Use at most {currency_exponent(currency)} decimals for {currency}."
    for name in ("shipping_price", "tax", "discount"):
        value = attrs.get(name)
        if value is not None and not fits_currency(value, currency):
            errors[name] = [serializers.ErrorDetail(message, code="too_many_decimals")]
    for index, line in enumerate(attrs.get("lines") or []):
        for name in ("unit_price", "tax", "discount"):
            value = line.get(name)
            if value is not None and not fits_currency(value, currency):
                errors[f"lines.{index}.{name}"] = [serializers.ErrorDetail(message, code="too_many_decimals")]
    if errors:
        raise serializers.ValidationError(errors)
    return attrs


class OrderCreateInputSerializer(BodySerializer):
    channel = serializers.SlugField(max_length=32, required=False, default="api")
    external_id = serializers.CharField(max_length=128)
    currency = CurrencyField()
    customer = CustomerSerializer()
    ship_to = AddressSerializer()
    bill_to = AddressSerializer(required=False, allow_null=True, default=None)
    service_level = serializers.CharField(max_length=32, required=False, default="standard")
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)
    shipping_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True, default=None
    )
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    reservation = BoundedIntegerField(
        min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None
    )
    payment = PaymentInputSerializer(required=False, allow_null=True, default=None)

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _checked_lines(lines, self.context)

    def validate_reservation(self, reservation: int | None) -> int | None:
        """A reservation of this tenant (400 `unknown_reservation` otherwise, as for an unknown SKU:
        another tenant's is unknown here too); whether it can still be turned into the order's
        allocation is the placement's to say."""
        if reservation is not None and not reservation_exists(tenant=self.context["tenant"], pk=reservation):
            message = f"Unknown reservation {reservation}."
            raise serializers.ValidationError(message, code="unknown_reservation")
        return reservation

    def validate_payment(self, payment: dict[str, str] | None) -> dict[str, str] | None:
        """The merchant's gateway by default; one it may not use is refused before the order is placed."""
        if payment is None:
            return None
        tenant = self.context["tenant"]
        payment = {**payment, "provider": payment.get("provider") or tenant.payment_gateway}
        gateway_for(tenant=tenant, provider=payment["provider"])  # a DomainError: 422, nothing placed
        return payment

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _amounts_fit_currency(attrs, attrs["currency"])


class OrderEditInputSerializer(BodySerializer):
    min_properties = 1  # the schema says what validate() checks
    ship_to = AddressSerializer(required=False)
    service_level = serializers.CharField(max_length=32, required=False)
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500, required=False)

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _checked_lines(lines, self.context)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Send at least one of ship_to, service_level, lines.", code="empty"
            )
        return attrs


class ReasonInputSerializer(BodySerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class HoldInputSerializer(ReasonInputSerializer):
    kind = serializers.ChoiceField(
        choices=["payment", "address", "fraud", "manual", "unmapped_sku"], required=False, default="manual"
    )


class ReleaseInputSerializer(ReasonInputSerializer):
    kind = serializers.ChoiceField(
        choices=["payment", "address", "fraud", "manual", "unmapped_sku"],
        required=False,
        allow_null=True,
        default=None,
    )


# --- output -------------------------------------------------------------------------------
class AllocationOutputSerializer(serializers.Serializer):
    warehouse = serializers.CharField(source="warehouse.code")
    quantity = serializers.IntegerField()


class LineOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField(source="sku.code")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    allocated = serializers.IntegerField(source="quantity_allocated")
    backordered = serializers.SerializerMethodField()
    shipped = serializers.IntegerField(source="quantity_shipped")
    returned = serializers.IntegerField(source="quantity_returned")
    allocations = AllocationOutputSerializer(many=True)

    def get_backordered(self, line: OrderLine) -> int:
        """A cancelled order waits for nothing."""
        return 0 if line.order.state == OrderState.CANCELLED else line.quantity_backordered


class AddressOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    company = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class CustomerOutputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField()


class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    state = serializers.CharField()
    amount = serializers.DecimalField(source="amount_authorized", max_digits=12, decimal_places=2)
    captured = serializers.DecimalField(source="amount_captured", max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(source="amount_refunded", max_digits=12, decimal_places=2)


class HoldOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AllocationPlanOutputSerializer(serializers.Serializer):
    strategy = serializers.CharField(allow_blank=True)
    explanation = serializers.CharField(allow_blank=True)


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    channel = serializers.CharField()
    external_id = serializers.CharField()
    state = serializers.CharField()
    holds = serializers.SerializerMethodField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    customer = CustomerOutputSerializer()
    ship_to = AddressOutputSerializer()
    bill_to = AddressOutputSerializer(allow_null=True)
    service_level = serializers.CharField()
    lines = LineOutputSerializer(many=True)
    allocation_plan = serializers.SerializerMethodField()
    promise_date = serializers.DateField(allow_null=True)
    payments = PaymentOutputSerializer(many=True)
    shipments = serializers.ListField(read_only=True)  # get_fields(): as the shipments' room renders them
    cancel_reason = serializers.CharField()
    placed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_holds(self, order: Order) -> list[dict[str, Any]]:
        active = [h for h in order.holds.all() if h.released_at is None]
        return HoldOutputSerializer(active, many=True).data  # type: ignore[return-value]

    def get_allocation_plan(self, order: Order) -> dict[str, str]:
        plan = order.allocation_plan or {}
        return {"strategy": plan.get("strategy", ""), "explanation": plan.get("explanation", "")}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["shipments"] = order_shipments_field()
        return fields


class OrderListOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    channel = serializers.CharField()
    external_id = serializers.CharField()
    state = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    customer_email = serializers.CharField(source="customer.email")
    placed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderEventOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField()
    message = serializers.CharField()
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()
