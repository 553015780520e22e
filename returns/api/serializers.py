"""Shapes of the Returns API (see the API contract, "Returns"). Parsing and rendering only.

Lines are named by their order line's id everywhere (`line`): when a return is opened, in the
return as rendered, and when a 3PL reports what arrived. A line received in several conditions
or dispositions (one unit restocked, one scrapped) shows `"mixed"` and lists its `receipts`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from oms.core.api import ID_MAX
from oms.core.serializers import BodySerializer, BoundedIntegerField, model_integer
from returns.models import ReturnExchangeLine, ReturnLine, ReturnRequest
from returns.states import Condition, Disposition, RefundState, Resolution, ReturnReason, ReturnState

MIXED = "mixed"


def _one_or_mixed(values: set[str]) -> str | None:
    if not values:
        return None
    return values.pop() if len(values) == 1 else MIXED


@extend_schema_serializer(component_name="ReturnReceipt")
class ReceiptOutputSerializer(serializers.Serializer):
    quantity = serializers.IntegerField()
    condition = serializers.ChoiceField(choices=Condition.choices)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    warehouse = serializers.CharField(source="warehouse.code", help_text="The warehouse's code")
    received_at = serializers.DateTimeField(source="created_at")


@extend_schema_serializer(component_name="ReturnLine")
class LineOutputSerializer(serializers.Serializer):
    line = serializers.CharField(source="order_line_id", help_text="The order line's id")
    sku = serializers.CharField(source="sku.code")
    quantity = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField()
    quantity_received = serializers.IntegerField()
    condition = serializers.SerializerMethodField(
        help_text="As received (" + ", ".join(Condition.values) + "); null before receipt, "
        f"{MIXED} when its units differ (see receipts)"
    )
    disposition = serializers.SerializerMethodField(
        help_text="What became of it (" + ", ".join(Disposition.values) + "); null before receipt, "
        f"{MIXED} when its units differ"
    )
    receipts = ReceiptOutputSerializer(many=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_condition(self, line: ReturnLine) -> str | None:
        return _one_or_mixed({r.condition for r in line.receipts.all()})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_disposition(self, line: ReturnLine) -> str | None:
        return _one_or_mixed({r.disposition for r in line.receipts.all()})


@extend_schema_serializer(component_name="ReturnLabel")
class LabelOutputSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    label_url = serializers.CharField()
    state = serializers.CharField(help_text="pending (being bought), purchased, failed")


@extend_schema_serializer(component_name="ReturnRefundSummary")
class RefundOutputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="What went back so far")
    state = serializers.ChoiceField(choices=RefundState.choices)


@extend_schema_serializer(component_name="Return")
class ReturnOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    rma_number = serializers.CharField()
    order = serializers.CharField(source="order_id", help_text="The order's id")
    state = serializers.ChoiceField(choices=ReturnState.choices)
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    warehouse = serializers.CharField(
        source="warehouse.code", allow_null=True, default=None, help_text="Where it comes back to"
    )
    lines = LineOutputSerializer(many=True)
    label = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()
    exchange_order = serializers.CharField(source="exchange_order_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(LabelOutputSerializer(allow_null=True))
    def get_label(self, ret: ReturnRequest) -> dict[str, Any] | None:
        label = ret.label
        if label is None:
            return None
        return LabelOutputSerializer(label).data  # type: ignore[return-value]

    @extend_schema_field(RefundOutputSerializer(allow_null=True))
    def get_refund(self, ret: ReturnRequest) -> dict[str, Any] | None:
        rows = list(ret.refunds.all())
        if not rows:
            return None
        refunded = sum((r.amount for r in rows if r.state == RefundState.SUCCEEDED), Decimal("0"))
        if any(r.state == RefundState.PENDING for r in rows):
            state = RefundState.PENDING
        elif refunded >= ret.refund_amount:
            state = RefundState.SUCCEEDED
        else:
            state = RefundState.FAILED
        return RefundOutputSerializer(
            {"amount": ret.refund_amount, "refunded": refunded, "state": state}
        ).data  # type: ignore[return-value]


# --- input ------------------------------------------------------------------------------------
class ReturnLineInputSerializer(BodySerializer):
    line = BoundedIntegerField(min_value=1, max_value=ID_MAX, help_text="The order line's id")
    quantity = model_integer(ReturnLine, "quantity", min_value=1)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ExchangeLineInputSerializer(BodySerializer):
    sku = serializers.CharField(max_length=64, help_text="The SKU's code")
    quantity = model_integer(ReturnExchangeLine, "quantity", min_value=1)


@extend_schema_serializer(component_name="ReturnCreate")
class ReturnCreateInputSerializer(BodySerializer):
    order = BoundedIntegerField(min_value=1, max_value=ID_MAX, help_text="The order's id")
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=500)
    resolution = serializers.ChoiceField(
        choices=Resolution.choices, required=False, default=Resolution.REFUND
    )
    exchange_lines = ExchangeLineInputSerializer(
        many=True, required=False, default=list, max_length=100, help_text="For an exchange: what instead"
    )
    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="The customer's words"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["resolution"] == Resolution.EXCHANGE and not attrs["exchange_lines"]:
            raise serializers.ValidationError(
                {
                    "exchange_lines": [
                        serializers.ErrorDetail("An exchange names what the customer wants.", code="required")
                    ]
                }
            )
        return attrs


class ReceiptInputSerializer(BodySerializer):
    line = BoundedIntegerField(min_value=1, max_value=ID_MAX, help_text="The order line's id")
    quantity = model_integer(ReturnLine, "quantity_received", min_value=1)
    condition = serializers.ChoiceField(choices=Condition.choices)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    warehouse = serializers.CharField(
        max_length=32,
        required=False,
        help_text="The code of the warehouse that took the units (restock puts them there); "
        "left out, the warehouse the return was coming back to",
    )


@extend_schema_serializer(component_name="ReturnReceive")
class ReceiveInputSerializer(BodySerializer):
    lines = ReceiptInputSerializer(many=True, allow_empty=False, max_length=500)


@extend_schema_serializer(component_name="ReturnCancel")
class CancelInputSerializer(BodySerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
