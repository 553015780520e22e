"""Shipments API (see the API contract, "Shipments"): a merchant's 3PL or WMS fulfils without the
warehouse pages. Views parse, call one service, render the shipment."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment.api import queries
from fulfillment.api import serializers as s
from fulfillment.models import Shipment
from fulfillment.states import ShipmentState
from oms.core.api import ID_MAX, CursorPagination, TenantApiMixin
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from oms.core.serializers import BoundedIntegerField


def render_shipment(tenant: Any, shipment_id: Any, http_status: int = 200) -> Response:
    shipment = queries.shipment_api_get(tenant=tenant, shipment_id=shipment_id)
    return Response(s.ShipmentOutputSerializer(shipment).data, status=http_status)


class ShipmentStateListField(serializers.CharField):
    """`?state=packed,label_purchased`: each one a shipment state, else 400 invalid_choice."""

    default_error_messages = {"invalid_choice": "{value!r} is not a shipment state."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        for state in filter(None, value.split(",")):
            if state not in ShipmentState.values:
                self.fail("invalid_choice", value=state)
        return value


class ShipmentPagination(CursorPagination):
    ordering = ("-id",)


class ShipmentListApi(TenantApiMixin, GenericAPIView):
    pagination_class = ShipmentPagination
    serializer_class = s.ShipmentOutputSerializer
    queryset = Shipment.objects.none()  # for the schema generator only; reads go through queries
    permission_classes = [requires(C.SHIPMENTS_VIEW)]

    class FilterSerializer(serializers.Serializer):
        """Query filters: strings from the query, not a BodySerializer. An empty one filters on nothing."""

        order = BoundedIntegerField(min_value=1, max_value=ID_MAX, required=False)
        warehouse = serializers.CharField(max_length=32, required=False, allow_blank=True)
        state = ShipmentStateListField(required=False, allow_blank=True)

    @extend_schema(
        operation_id="shipments_list",
        parameters=[
            OpenApiParameter(
                "order",
                {"type": "integer", "minimum": 1, "maximum": ID_MAX},
                description="Shipments of this order (its id)",
            ),
            OpenApiParameter(
                "warehouse",
                {"type": "string", "maxLength": 32},
                description="Shipments from this warehouse code",
            ),
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=ShipmentState.values,
                many=True,
                explode=False,
                description="Shipments in any of these states (comma-separated)",
            ),
        ],
        responses=s.ShipmentOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        v = filters.validated_data
        qs = queries.shipment_api_list(
            tenant=self.tenant,
            order_id=v.get("order"),
            warehouse_code=v.get("warehouse") or None,
            state=v.get("state") or None,
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ShipmentOutputSerializer(page, many=True).data)


class ShipmentDetailApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.SHIPMENTS_VIEW)]

    @extend_schema(operation_id="shipments_retrieve", responses=s.ShipmentOutputSerializer)
    def get(self, request: Request, shipment_id: int) -> Response:
        return render_shipment(self.tenant, shipment_id)
