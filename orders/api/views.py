"""Storefront Orders API. Views parse, call one service, render."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.core.api import CursorPagination, TenantApiMixin
from oms.core.errors import DomainError
from oms.core.idempotency import idempotent, idempotent_atomic
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from orders import selectors, services
from orders.api import serializers as s
from orders.api.lean import lean_validated, placed_json
from orders.api.render import order_json
from orders.api.render_list import order_list_page, order_list_page_rows, order_list_rows
from orders.fastpath import StockMoved
from orders.models import Order
from orders.payments.gateway import PaymentGatewayUnavailable
from orders.payments.services import payment_authorize
from orders.services import LineInput, OrderInput
from orders.states import OrderState

logger = logging.getLogger(__name__)
CREATE_SCOPE = "POST /api/v1/orders/"


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
    """The order as `GET /orders/{id}/` shows it (`OrderOutputSerializer`'s shape, orders/api/render.py)."""
    return Response(order_json(tenant=tenant, order_id=order_id), status=http_status)


def render_placed(order: Order) -> Response:
    """The 201 of a plain placement, from the rows the transaction wrote (`placed_lines`, each
    with its `placed_allocations`), not read back: a new order has no holds, payments or
    shipments to show (orders/api/lean.py)."""
    return Response(placed_json(order), status=status.HTTP_201_CREATED)


class StateListField(serializers.CharField):
    """`?state=allocated,backordered`: each one an order state, else 400 invalid_choice (an empty
    one too, as the schema's enum says: `state=,`); `?state=` is 400 blank."""

    default_error_messages = {"invalid_choice": "{value!r} is not an order state."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        for state in value.split(","):
            if state not in OrderState.values:
                self.fail("invalid_choice", value=state)
        return value


class OrderPagination(CursorPagination):
    ordering = ("-id",)

    def paginate_rows(
        self, fetch: Callable[..., list[dict[str, Any]]], request: Request
    ) -> list[dict[str, Any]]:
        """DRF's `paginate_queryset`, step for step, over `fetch(position=, ascending=, offset=,
        limit=)` (render_list.order_list_page) instead of a queryset: the same page, links and cursors."""
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        offset, reverse, current_position = (0, False, None) if self.cursor is None else self.cursor
        results = fetch(
            position=None if current_position is None else int(current_position),
            ascending=reverse,
            offset=offset,
            limit=self.page_size + 1,
        )
        self.page = results[: self.page_size]
        has_following_position = len(results) > len(self.page)
        following_position = str(results[-1]["id"]) if has_following_position else None
        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = current_position is not None or offset > 0
            self.has_previous = has_following_position
            if self.has_next:
                self.next_position = current_position
            if self.has_previous:
                self.previous_position = following_position
        else:
            self.has_next = has_following_position
            self.has_previous = current_position is not None or offset > 0
            if self.has_next:
                self.next_position = following_position
            if self.has_previous:
                self.previous_position = current_position
        return self.page


class OrderListCreateApi(TenantApiMixin, GenericAPIView):
    pagination_class = OrderPagination
    serializer_class = s.OrderListOutputSerializer
    queryset = Order.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [requires(read=C.ORDERS_VIEW, write=C.ORDERS_CREATE)]

    class FilterSerializer(serializers.Serializer):
        """Query filters: strings from the query (a plain dict, so that an empty date is refused as
        given), not a BodySerializer. An empty text filter filters on nothing."""

        state = StateListField(required=False)
        channel = serializers.CharField(max_length=32, required=False, allow_blank=True)
        email = serializers.CharField(max_length=254, required=False, allow_blank=True)
        sku = serializers.CharField(max_length=64, required=False, allow_blank=True)
        external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
        created_after = serializers.DateTimeField(required=False)
        created_before = serializers.DateTimeField(required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=OrderState.values,
                many=True,
                explode=False,
                description="Orders in any of these states (comma-separated)",
            ),
        ]
        + [
            OpenApiParameter(name, {"type": "string", "maxLength": length}, description=f"Filter on {name}")
            for name, length in (("channel", 32), ("email", 254), ("sku", 64), ("external_id", 128))
        ]
        + [OpenApiParameter(name, OpenApiTypes.DATETIME) for name in ("created_after", "created_before")],
        responses=s.OrderListOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self._filters(request.query_params.dict())
        if connection.vendor == "postgresql":  # the selector's page, without building the queryset
            fetch = functools.partial(order_list_page, tenant=self.tenant, **filters)
            page = cast(OrderPagination, self.paginator).paginate_rows(fetch, request)
        else:
            qs = selectors.order_list(tenant=self.tenant, **filters)
            page = self.paginate_queryset(order_list_page_rows(qs))
        return self.get_paginated_response(order_list_rows(page or ()))  # OrderListOutputSerializer's shape

    @classmethod
    def _filters(cls, query: dict[str, str]) -> dict[str, Any]:
        """FilterSerializer's validated_data. Each filter given goes through its declared field (as
        the serializer runs it, without copying the serializer's fields for every page); at the
        first error the serializer runs and answers the 400, worded as ever."""
        try:
            return {
                name: field.run_validation(query[name])
                for name, field in cls.FilterSerializer._declared_fields.items()
                if name in query
            }
        except (serializers.ValidationError, DjangoValidationError):
            filters = cls.FilterSerializer(data=query)
            filters.is_valid(raise_exception=True)
            return dict(filters.validated_data)

    @extend_schema(
        request=s.OrderCreateInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={201: s.OrderOutputSerializer, 200: s.OrderOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.data, dict) and request.data.get("payment"):
            # The checkout authorization must follow the order's commit: claim the key first.
            return idempotent(request, CREATE_SCOPE, lambda: self._create(request, savepoint=True))
        # The hot path: validation, the placement, its 201 and the key's record in one transaction;
        # optimistic (services.order_create, orders/fastpath.py): a duplicate external id, or
        # stock taken since the plan, and it runs once more the locked way.
        return idempotent_atomic(
            request,
            CREATE_SCOPE,
            lambda retrying: self._create(request, savepoint=retrying),
            retry_on=(IntegrityError, StockMoved),
        )

    def _create(self, request: Request, *, savepoint: bool) -> Response:
        # The lean check accepts a sound body without building the serializer; any doubt and the
        # serializer runs, which words the errors (orders/api/lean.py).
        context: dict[str, Any] = {"tenant": self.tenant}
        v = lean_validated(s.OrderCreateInputSerializer, request.data, context)
        if v is None:
            data = s.OrderCreateInputSerializer(data=request.data, context=context)
            data.is_valid(raise_exception=True)
            v = data.validated_data
        v = dict(v)
        v["lines"] = _lines(v["lines"])
        order, created = services.order_create(
            tenant=self.tenant,
            data=OrderInput(**v),
            actor=request.user,
            skus=context.get("skus"),
            savepoint=savepoint,
        )
        if created and v.get("payment"):
            _authorize_at_checkout(self.tenant, order, v["payment"], request.user)
        elif created and hasattr(order, "placed_lines"):
            return render_placed(order)
        return render_order(self.tenant, order.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailApi(TenantApiMixin, APIView):
    permission_classes = [requires(read=C.ORDERS_VIEW, write=C.ORDERS_EDIT)]

    @extend_schema(responses=s.OrderOutputSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        return Response(order_json(tenant=self.tenant, order_id=order_id))  # OrderOutputSerializer's shape

    @extend_schema(request=s.OrderEditInputSerializer, responses=s.OrderOutputSerializer)
    def patch(self, request: Request, order_id: int) -> Response:
        data = s.OrderEditInputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        if "lines" in v:
            v["lines"] = _lines(v["lines"])
        services.order_edit(tenant=self.tenant, order_id=order_id, actor=request.user, **v)
        return render_order(self.tenant, order_id)


class OrderActionApi(TenantApiMixin, APIView):
    """`POST /orders/{id}/<action>/`: parse the body, call the action's one service, render the order.

    A subclass names its capability (`permission_classes`), its `InputSerializer` and its `service`."""

    InputSerializer: type[serializers.Serializer]
    service: Callable[..., Any]

    def post(self, request: Request, order_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.service(tenant=self.tenant, order_id=order_id, actor=request.user, **data.validated_data)
        return render_order(self.tenant, order_id)


def order_action_schema(input_serializer: type[serializers.Serializer]) -> Any:
    return extend_schema_view(post=extend_schema(request=input_serializer, responses=s.OrderOutputSerializer))


@order_action_schema(s.ReasonInputSerializer)
class OrderCancelApi(OrderActionApi):
    permission_classes = [requires(C.ORDERS_CANCEL)]
    InputSerializer = s.ReasonInputSerializer
    service = staticmethod(services.order_cancel)


@order_action_schema(s.HoldInputSerializer)
class OrderHoldApi(OrderActionApi):
    permission_classes = [requires(C.ORDERS_HOLD)]
    InputSerializer = s.HoldInputSerializer
    service = staticmethod(services.order_hold)


@order_action_schema(s.ReleaseInputSerializer)
class OrderReleaseApi(OrderActionApi):
    permission_classes = [requires(C.ORDERS_HOLD)]
    InputSerializer = s.ReleaseInputSerializer
    service = staticmethod(services.order_release)


class OrderEventsApi(TenantApiMixin, APIView):
    permission_classes = [requires(C.ORDERS_VIEW)]

    @extend_schema(responses=s.OrderEventOutputSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        events = selectors.order_events(tenant=self.tenant, order_id=order_id)
        return Response(s.OrderEventOutputSerializer(events, many=True).data)
