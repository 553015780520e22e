"""Returns API (see the API contract, "Returns"): a storefront opens returns and follows them; a 3PL
reports what arrived. Views parse, call one service, render the return."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Warehouse
from oms.core.api import ID_MAX, CursorPagination, TenantApiMixin
from oms.core.idempotency import idempotent
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from oms.core.serializers import BoundedIntegerField
from returns import selectors, services
from returns.api import serializers as s
from returns.errors import ReturnError, ReturnErrorCode
from returns.models import ReturnRequest
from returns.services import ExchangeLineInput, ReceiptInput, ReturnLineInput
from returns.states import ReturnState

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The same key with the same body returns the first response again.",
)


def render_return(tenant: Any, return_id: Any, http_status: int = 200) -> Response:
    ret = selectors.return_get(tenant=tenant, return_id=return_id)
    return Response(s.ReturnOutputSerializer(ret).data, status=http_status)


class ReturnStateListField(serializers.CharField):
    """`?state=requested,authorized`: each one a return state, else 400 invalid_choice."""

    default_error_messages = {"invalid_choice": "{value!r} is not a return state."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        for state in value.split(","):
            if state not in ReturnState.values:
                self.fail("invalid_choice", value=state)
        return value


class ReturnPagination(CursorPagination):
    ordering = ("-id",)


class ReturnListCreateApi(TenantApiMixin, GenericAPIView):
    pagination_class = ReturnPagination
    serializer_class = s.ReturnOutputSerializer
    queryset = ReturnRequest.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [requires(read=C.ORDERS_VIEW, write=C.RETURNS_MANAGE)]
    # POST: an order of another tenant (or none) does not exist for you.
    extra_error_statuses = ("404",)

    class FilterSerializer(serializers.Serializer):
        """Query filters (strings from the query, not a BodySerializer)."""

        order = BoundedIntegerField(min_value=1, max_value=ID_MAX, required=False)
        state = ReturnStateListField(required=False)

    @extend_schema(
        operation_id="returns_list",
        parameters=[
            OpenApiParameter(
                "order",
                {"type": "integer", "minimum": 1, "maximum": ID_MAX},
                description="Returns of this order (its id)",
            ),
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=ReturnState.values,
                many=True,
                explode=False,
                description="Returns in any of these states (comma-separated)",
            ),
        ],
        responses=s.ReturnOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        v = filters.validated_data
        qs = selectors.return_list(tenant=self.tenant, order_id=v.get("order"), state=v.get("state") or None)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ReturnOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="returns_create",
        request=s.ReturnCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.ReturnOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, "POST /api/v1/returns/", lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = s.ReturnCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        ret, _ = services.return_open(
            tenant=self.tenant,
            order_id=v["order"],
            lines=[ReturnLineInput(**item) for item in v["lines"]],
            resolution=v["resolution"],
            exchange_lines=[ExchangeLineInput(**item) for item in v["exchange_lines"]],
            customer_note=v["note"],
            source="api",
            actor=request.user,
        )
        return render_return(self.tenant, ret.pk, status.HTTP_201_CREATED)


class ReturnDetailApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_VIEW)]

    @extend_schema(operation_id="returns_retrieve", responses=s.ReturnOutputSerializer)
    def get(self, request: Request, return_id: int) -> Response:
        return render_return(self.tenant, return_id)


def _receipts(tenant: Any, ret: ReturnRequest, items: list[dict[str, Any]]) -> list[ReceiptInput]:
    """The API names lines by their order line and warehouses by code; the service by ids."""
    lines = {line.order_line_id: line.pk for line in ret.lines.all()}
    codes = {item["warehouse"] for item in items if item.get("warehouse")}
    warehouses = dict(Warehouse.objects.for_tenant(tenant).filter(code__in=codes).values_list("code", "pk"))
    receipts = []
    for item in items:
        if item["line"] not in lines:
            raise ReturnError(
                ReturnErrorCode.UNKNOWN_LINE,
                f"Order line {item['line']} is not on return {ret.rma_number}.",
                line=str(item["line"]),
            )
        code = item.get("warehouse")
        warehouse = warehouses.get(code) if code else ret.warehouse_id
        if warehouse is None:
            raise ReturnError(
                ReturnErrorCode.UNKNOWN_WAREHOUSE,
                f"No warehouse {code!r}." if code else "Say which warehouse took the units.",
                warehouse=code or "",
            )
        receipts.append(
            ReceiptInput(
                line=lines[item["line"]],
                quantity=item["quantity"],
                condition=item["condition"],
                disposition=item["disposition"],
                warehouse=warehouse,
            )
        )
    return receipts


class ReturnReceiveApi(TenantApiMixin, APIView):
    """A 3PL reports what arrived, line by line; restocked units go into stock through the ledger."""

    permission_classes = [requires(C.RETURNS_RECEIVE)]

    @extend_schema(
        operation_id="returns_receive", request=s.ReceiveInputSerializer, responses=s.ReturnOutputSerializer
    )
    def post(self, request: Request, return_id: int) -> Response:
        ret = selectors.return_get(tenant=self.tenant, return_id=return_id)
        data = s.ReceiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_receive(
            tenant=self.tenant,
            return_id=ret.pk,
            receipts=_receipts(self.tenant, ret, data.validated_data["lines"]),
            actor=request.user,
        )
        return render_return(self.tenant, ret.pk)


class ReturnCancelApi(TenantApiMixin, APIView):
    """Before anything arrived; 409 `illegal_transition` after."""

    permission_classes = [requires(C.RETURNS_MANAGE)]

    @extend_schema(
        operation_id="returns_cancel", request=s.CancelInputSerializer, responses=s.ReturnOutputSerializer
    )
    def post(self, request: Request, return_id: int) -> Response:
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_cancel(
            tenant=self.tenant, return_id=return_id, actor=request.user, **data.validated_data
        )
        return render_return(self.tenant, return_id)
