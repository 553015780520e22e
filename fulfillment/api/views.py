"""Shipments API (see the API contract, "Shipments"): a merchant's 3PL or WMS fulfils without the
warehouse pages. Views parse, call one service, render the shipment.

Buying a label (`POST .../label/`): `label_request` records the intent (a pending label, the
purchase task in the outbox) and the worker buys it. The view then waits a few seconds
(`LABEL_WAIT_SECONDS`) for the worker's answer, reading the label row; the web process never calls
the carrier itself. Bought: 200 with the shipment (label_purchased, tracking, label URL). Still
pending (the carrier slow or unreachable, the task retrying with backoff): 202 with the shipment as
it is (packed, `label_state` "pending", `error` saying why); GET it later. Refused by the carrier:
422 `label_failed` with the carrier's words. Asking again while a label is live returns that label:
never two purchases; `Idempotency-Key` replays the first answer.
"""

from __future__ import annotations

import time
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment import selectors
from fulfillment.api import serializers as s
from fulfillment.carriers import CarrierUnavailable
from fulfillment.labels import label_request
from fulfillment.models import Label, Shipment
from fulfillment.rates import shipment_rates
from fulfillment.services import shipment_cancel, shipment_ship
from fulfillment.states import LabelState, ShipmentState
from oms.core.api import ID_MAX, CursorPagination, TenantApiMixin, error_response
from oms.core.idempotency import idempotent
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from oms.core.serializers import BoundedIntegerField

# How long `POST .../label/` waits for the worker's purchase before answering 202.
LABEL_WAIT_SECONDS = 8.0
LABEL_POLL_SECONDS = 0.2
CARRIER_RETRY_AFTER_SECONDS = 30

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The same key with the same body returns the first response again.",
)


def render_shipment(tenant: Any, shipment_id: Any, http_status: int = 200) -> Response:
    shipment = selectors.shipment_detail_get(tenant=tenant, shipment_id=shipment_id)
    return Response(s.ShipmentOutputSerializer(shipment).data, status=http_status)


class ShipmentStateListField(serializers.CharField):
    """`?state=packed,label_purchased`: each one a shipment state, else 400 invalid_choice (an empty
    one too, as the schema's enum says; `?state=` is 400 blank)."""

    default_error_messages = {"invalid_choice": "{value!r} is not a shipment state."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        for state in value.split(","):
            if state not in ShipmentState.values:
                self.fail("invalid_choice", value=state)
        return value


class ShipmentPagination(CursorPagination):
    ordering = ("-id",)


class ShipmentListApi(TenantApiMixin, GenericAPIView):
    pagination_class = ShipmentPagination
    serializer_class = s.ShipmentOutputSerializer
    queryset = Shipment.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [requires(C.SHIPMENTS_VIEW)]

    class FilterSerializer(serializers.Serializer):
        """Query filters: strings from the query, not a BodySerializer. An empty warehouse filters on
        nothing; an empty order or state is refused (the schema's types say so)."""

        order = BoundedIntegerField(min_value=1, max_value=ID_MAX, required=False)
        warehouse = serializers.CharField(max_length=32, required=False, allow_blank=True)
        state = ShipmentStateListField(required=False)

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
        qs = selectors.shipment_search(
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


def carrier_unavailable(exc: CarrierUnavailable) -> Response:
    response = error_response("carrier_unavailable", f"The carrier could not be reached: {exc}", 503)
    response["Retry-After"] = str(CARRIER_RETRY_AFTER_SECONDS)
    return response


class ShipmentRatesApi(TenantApiMixin, APIView):
    """The shipment's rates: the stored quote while fresh, else a new one from the carrier."""

    permission_classes = [requires(C.SHIPMENTS_VIEW)]
    # 409: the shipment has left or been cancelled, or no carrier account; 422: the carrier refused
    # (an address it cannot reach, no parcels); 503: the carrier could not be reached.
    extra_error_statuses = ("409", "422", "503")

    @extend_schema(operation_id="shipments_rates", responses=s.RateOutputSerializer(many=True))
    def get(self, request: Request, shipment_id: int) -> Response:
        try:
            rates = shipment_rates(tenant=self.tenant, shipment_id=shipment_id)
        except CarrierUnavailable as exc:
            return carrier_unavailable(exc)
        return Response(s.RateOutputSerializer(rates, many=True).data)


def label_wait(tenant: Any, label: Label, seconds: float) -> str:
    """The label's state once it leaves pending, or pending after `seconds`."""
    deadline = time.monotonic() + seconds
    state = label.state
    while state == LabelState.PENDING and time.monotonic() < deadline:
        time.sleep(LABEL_POLL_SECONDS)
        state = Label.objects.for_tenant(tenant).values_list("state", flat=True).get(pk=label.pk)
    return str(state)


class ShipmentLabelApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.SHIPMENTS_MANAGE)]

    @extend_schema(
        operation_id="shipments_label",
        request=s.LabelInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: s.ShipmentOutputSerializer,
            202: OpenApiResponse(
                s.ShipmentOutputSerializer,
                description="The label is being bought: the shipment as it is (label_state pending).",
            ),
        },
    )
    def post(self, request: Request, shipment_id: int) -> Response:
        return idempotent(
            request, f"POST /api/v1/shipments/{shipment_id}/label/", lambda: self._buy(request, shipment_id)
        )

    def _buy(self, request: Request, shipment_id: int) -> Response:
        data = s.LabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = label_request(
            tenant=self.tenant,
            shipment_id=shipment_id,
            rate_id=data.validated_data.get("rate_id") or None,
            actor=request.user,
        )
        state = label_wait(self.tenant, label, LABEL_WAIT_SECONDS)
        if state == LabelState.PURCHASED:
            return render_shipment(self.tenant, shipment_id)
        if state == LabelState.PENDING:
            return render_shipment(self.tenant, shipment_id, status.HTTP_202_ACCEPTED)
        label.refresh_from_db()
        return error_response(
            "label_failed",
            label.error or f"The label was not bought ({label.get_state_display().lower()}).",
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            extra={"shipment_id": str(shipment_id), "label_state": state},
        )


class ShipmentShipApi(TenantApiMixin, APIView):
    """A shipment sent outside our labels (a 3PL's own): stock goes out, the order moves on, as with
    a bought label. A shipment that already left answers as it is."""

    permission_classes = [requires(C.SHIPMENTS_MANAGE)]

    @extend_schema(
        operation_id="shipments_ship", request=s.ShipInputSerializer, responses=s.ShipmentOutputSerializer
    )
    def post(self, request: Request, shipment_id: int) -> Response:
        data = s.ShipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipment_ship(tenant=self.tenant, shipment_id=shipment_id, actor=request.user, **data.validated_data)
        return render_shipment(self.tenant, shipment_id)


class ShipmentCancelApi(TenantApiMixin, APIView):
    """Voids the label if any (through the outbox); the lines go back to the order's allocation."""

    permission_classes = [requires(C.SHIPMENTS_MANAGE)]

    @extend_schema(
        operation_id="shipments_cancel", request=s.CancelInputSerializer, responses=s.ShipmentOutputSerializer
    )
    def post(self, request: Request, shipment_id: int) -> Response:
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipment_cancel(
            tenant=self.tenant, shipment_id=shipment_id, actor=request.user, **data.validated_data
        )
        return render_shipment(self.tenant, shipment_id)
