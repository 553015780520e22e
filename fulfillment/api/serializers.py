"""Shapes of the Shipments API (see the API contract, "Shipments"). Parsing and rendering only.

A Shipment renders from a `fulfillment.Shipment` row, or from a shipment recorded on the order
without one (`fulfillment.selectors.recorded_shipment`), in the same shape with `id` and
`warehouse` null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from fulfillment.models import Shipment
from fulfillment.states import LabelState, ShipmentState
from oms.core.serializers import BodySerializer


@extend_schema_serializer(component_name="ShipmentLine")
class ShipmentLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="sku.code")
    quantity = serializers.IntegerField()


@extend_schema_serializer(component_name="Parcel")
class ParcelOutputSerializer(serializers.Serializer):
    weight_grams = serializers.IntegerField()
    length_mm = serializers.IntegerField()
    width_mm = serializers.IntegerField()
    height_mm = serializers.IntegerField()


@extend_schema_serializer(component_name="Shipment")
class ShipmentOutputSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="Null for a shipment recorded on the order only")
    number = serializers.CharField()
    order = serializers.CharField(source="order_id", help_text="The order's id")
    warehouse = serializers.CharField(
        source="warehouse.code", allow_null=True, help_text="The warehouse's code"
    )
    state = serializers.ChoiceField(choices=ShipmentState.choices)
    carrier = serializers.CharField()
    service = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    label_url = serializers.CharField()
    label_state = serializers.SerializerMethodField(
        help_text="The label being bought or bought (pending, purchased), else the last one's state"
    )
    error = serializers.CharField(source="last_error", help_text="The last carrier error, if any")
    lines = ShipmentLineOutputSerializer(many=True)
    parcels = ParcelOutputSerializer(many=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(
        serializers.ChoiceField(choices=[*LabelState.values], allow_null=True)  # type: ignore[list-item]
    )
    def get_label_state(self, shipment: Any) -> str | None:
        if isinstance(shipment, Mapping):
            return None
        labels = [label for label in shipment.labels.all() if not label.is_return]
        if not labels:
            return None
        return str(max(labels, key=lambda label: label.pk).state)


@extend_schema_serializer(component_name="Rate")
class RateOutputSerializer(serializers.Serializer):
    rate_id = serializers.CharField()
    carrier = serializers.CharField()
    service = serializers.CharField(help_text="The carrier's service-level token")
    service_name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    estimated_days = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="LabelPurchase")
class LabelInputSerializer(BodySerializer):
    rate_id = serializers.CharField(
        max_length=64,
        required=False,
        help_text="A rate from GET .../rates/; left out, the tenant's rate-shopping policy picks one",
    )


# ASCII only, classes spelled out: Python and the schema's readers (ECMAScript) agree on them.
TRACKING_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"


@extend_schema_serializer(component_name="ShipmentShip")
class ShipInputSerializer(BodySerializer):
    # Left out, each is the shipment's own (its bought label's): `{}` ships a labelled shipment.
    carrier = serializers.CharField(
        max_length=64, required=False, help_text="Required unless the shipment has a bought label"
    )
    tracking_number = serializers.CharField(max_length=128, required=False, allow_blank=True)
    # A web address: http(s), a host, no spaces (the schema states the pattern that is checked).
    tracking_url = serializers.RegexField(
        TRACKING_URL_PATTERN,
        max_length=500,
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Give an http:// or https:// address."},
    )


@extend_schema_serializer(component_name="ShipmentCancel")
class CancelInputSerializer(BodySerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def shipment_json(shipment: Shipment) -> dict[str, Any]:
    return ShipmentOutputSerializer(shipment).data  # type: ignore[return-value]
