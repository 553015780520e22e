"""Storefront Orders API. Views parse, call one service, render."""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.core.api import CursorPagination, TenantApiMixin
from oms.core.errors import DomainError
from oms.core.idempotency import idempotent
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from orders import selectors, services
from orders.api import serializers as s
from orders.models import Order
from orders.payments.gateway import PaymentGatewayUnavailable
from orders.payments.services import payment_authorize
from orders.services import LineInput, OrderInput

logger = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


def _lines(items: list[dict[str, Any]]) -> list[LineInput]:
    return [LineInput(**item) for item in items]


def _authorize_at_checkout(tenant: Any, order: Any, payment: dict[str, str], actor: Any) -> None:
    """A storefront learns at once whether the card was authorized or declined.

    The order is committed first. This call and the task enqueued when the order was placed
    make one attempt (its key is the order, provider and card): whichever comes first calls
    the provider, the other gets its answer. If the provider cannot be reached now, the task
    takes over and the order shows a pending payment.
    """
    try:
        payment_authorize(
            tenant=tenant,
            order=order,
            provider=payment.get("provider", ""),
            payment_method=payment["payment_method"],
            actor=actor,
        )
    except (PaymentGatewayUnavailable, DomainError) as exc:
        logger.warning("Checkout authorization of order %s deferred to the worker: %s", order.pk, exc)


def render_order(tenant: Any, order_id: Any, http_status: int = 200) -> Response:
    order = selectors.order_get(tenant=tenant, order_id=order_id)
    return Response(s.OrderOutputSerializer(order).data, status=http_status)


class OrderPagination(CursorPagination):
    ordering = ("-id",)


class OrderListCreateApi(TenantApiMixin, GenericAPIView):
    pagination_class = OrderPagination
    serializer_class = s.OrderListOutputSerializer
    queryset = Order.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [requires(read=C.ORDERS_VIEW, write=C.ORDERS_CREATE)]

    class FilterSerializer(serializers.Serializer):
        state = serializers.CharField(required=False)
        channel = serializers.CharField(required=False)
        email = serializers.CharField(required=False)
        sku = serializers.CharField(required=False)
        external_id = serializers.CharField(required=False)
        created_after = serializers.DateTimeField(required=False)
        created_before = serializers.DateTimeField(required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, description=f"Filter on {name}")
            for name in ("state", "channel", "email", "sku", "external_id")
        ]
        + [OpenApiParameter(name, OpenApiTypes.DATETIME) for name in ("created_after", "created_before")]
        + [OpenApiParameter("limit", int, description="Page size, at most 200")],
        responses=s.OrderListOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.order_list(tenant=self.tenant, **filters.validated_data)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.OrderListOutputSerializer(page, many=True).data)

    @extend_schema(
        request=s.OrderCreateInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            201: s.OrderOutputSerializer,
            200: s.OrderOutputSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, "POST /api/v1/orders/", lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = s.OrderCreateInputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v["lines"] = _lines(v["lines"])
        order, created = services.order_create(tenant=self.tenant, data=OrderInput(**v), actor=request.user)
        if created and v.get("payment"):
            _authorize_at_checkout(self.tenant, order, v["payment"], request.user)
        return render_order(self.tenant, order.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailApi(TenantApiMixin, APIView):
    permission_classes = [requires(read=C.ORDERS_VIEW, write=C.ORDERS_EDIT)]

    @extend_schema(responses={200: s.OrderOutputSerializer, 404: ErrorSerializer})
    def get(self, request: Request, order_id: int) -> Response:
        return render_order(self.tenant, order_id)

    @extend_schema(
        request=s.OrderEditInputSerializer,
        responses={200: s.OrderOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def patch(self, request: Request, order_id: int) -> Response:
        data = s.OrderEditInputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        if "lines" in v:
            v["lines"] = _lines(v["lines"])
        services.order_edit(tenant=self.tenant, order_id=order_id, actor=request.user, **v)
        return render_order(self.tenant, order_id)


class OrderCancelApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_CANCEL)]

    @extend_schema(
        request=s.ReasonInputSerializer,
        responses={200: s.OrderOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_cancel(
            tenant=self.tenant, order_id=order_id, actor=request.user, **data.validated_data
        )
        return render_order(self.tenant, order_id)


class OrderHoldApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_HOLD)]

    @extend_schema(
        request=s.HoldInputSerializer,
        responses={200: s.OrderOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = s.HoldInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_hold(tenant=self.tenant, order_id=order_id, actor=request.user, **data.validated_data)
        return render_order(self.tenant, order_id)


class OrderReleaseApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_HOLD)]

    @extend_schema(
        request=s.ReleaseInputSerializer,
        responses={200: s.OrderOutputSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = s.ReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_release(
            tenant=self.tenant, order_id=order_id, actor=request.user, **data.validated_data
        )
        return render_order(self.tenant, order_id)


class OrderEventsApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_VIEW)]

    @extend_schema(responses={200: s.OrderEventOutputSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: Request, order_id: int) -> Response:
        events = selectors.order_events(tenant=self.tenant, order_id=order_id)
        return Response(s.OrderEventOutputSerializer(events, many=True).data)
