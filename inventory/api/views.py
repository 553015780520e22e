"""Inventory REST API (see the API contract, section Inventory). Views parse, call a service, render."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors
from inventory.allocation import ShipTo
from inventory.api.serializers import (
    StockRowSerializer,
    TenantSkuCodeField,
    TenantWarehouseCodeField,
    code_field,
)
from inventory.models import SKU, MovementReason, StockLevel, Warehouse
from inventory.replenishment import replenishment_report
from inventory.services import (
    ADJUSTMENT_REASONS,
    DEFAULT_RESERVATION_TTL,
    MAX_RESERVATION_TTL,
    reservation_create,
    reservation_release,
    sku_create,
    sku_update,
    stock_adjust,
    warehouse_create,
    warehouse_update,
)
from oms.core.api import CursorPagination, TenantApiMixin
from oms.core.idempotency import idempotent
from oms.core.permissions import requires
from oms.core.roles import Capability as C
from oms.core.serializers import (
    AddressSerializer,
    BodySerializer,
    BoundedIntegerField,
    CountryField,
    model_integer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The same key with the same body returns the first response again.",
)


class InventoryApi(TenantApiMixin, APIView):
    """Each view declares the capabilities its methods need (oms.core.roles)."""

    def paginated(self, queryset: QuerySet[Any], serializer_class: type[serializers.Serializer]) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CodedListCreateApi(InventoryApi):
    """A page of the tenant's rows (GET), or a new row by its code (POST, with Idempotency-Key).

    A subclass names its `route`, its serializers, and the selector and service it calls."""

    pagination_class = CursorPagination
    route: str
    InputSerializer: type[serializers.Serializer]
    OutputSerializer: type[serializers.Serializer]

    def rows(self) -> QuerySet[Any]:
        raise NotImplementedError

    def create(self, request: Request, fields: dict[str, Any]) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        return self.paginated(self.rows(), self.OutputSerializer)

    def post(self, request: Request) -> Response:
        return idempotent(request, self.route, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = self.create(request, dict(data.validated_data))
        return Response(self.OutputSerializer(created).data, status=status.HTTP_201_CREATED)


def list_create_schema(name: str, input_serializer: Any, output_serializer: Any) -> Any:
    return extend_schema_view(
        get=extend_schema(operation_id=f"{name}_list", responses=output_serializer(many=True)),
        post=extend_schema(
            operation_id=f"{name}_create",
            parameters=[IDEMPOTENCY_KEY],
            request=input_serializer,
            responses={201: output_serializer},
        ),
    )


# --- warehouses ---------------------------------------------------------------------------
@extend_schema_serializer(component_name="Warehouse")
class WarehouseOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.SerializerMethodField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    priority = serializers.IntegerField()
    active = serializers.BooleanField()
    ships_to = serializers.ListField(child=serializers.CharField())
    default_lead_time_days = serializers.IntegerField()

    @extend_schema_field(AddressSerializer)
    def get_address(self, obj: Warehouse) -> dict[str, str]:
        return {
            "name": obj.name,
            "company": "",
            "line1": obj.line1,
            "line2": obj.line2,
            "city": obj.city,
            "region": obj.region,
            "postal_code": obj.postal_code,
            "country": obj.country,
            "phone": "",
            "email": "",
        }


def _warehouse_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten the API's {address: {...}} into the warehouse's columns."""
    fields = {k: v for k, v in data.items() if k != "address"}
    address = data.get("address")
    if address is not None:
        for name in ("line1", "line2", "city", "region", "postal_code", "country"):
            fields[name] = address.get(name, "")
    return fields


class _WarehouseFieldsSerializer(BodySerializer):
    name = serializers.CharField(max_length=200)
    address = AddressSerializer()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )
    priority = model_integer(Warehouse, "priority", min_value=0, required=False)
    active = serializers.BooleanField(required=False)
    ships_to = serializers.ListField(child=CountryField(max_length=2), max_length=250, required=False)
    default_lead_time_days = model_integer(
        Warehouse, "default_lead_time_days", min_value=0, max_value=365, required=False
    )


@extend_schema_serializer(component_name="WarehouseCreate")
class WarehouseCreateSerializer(_WarehouseFieldsSerializer):
    code = code_field(max_length=32)


@list_create_schema("warehouses", WarehouseCreateSerializer, WarehouseOutputSerializer)
class WarehouseListApi(CodedListCreateApi):
    permission_classes = [requires(read=C.CATALOG_VIEW, write=C.WAREHOUSES_MANAGE)]
    route = "POST /api/v1/warehouses/"
    InputSerializer = WarehouseCreateSerializer
    OutputSerializer = WarehouseOutputSerializer

    def rows(self) -> QuerySet[Warehouse]:
        return selectors.warehouse_list(tenant=self.tenant)

    def create(self, request: Request, fields: dict[str, Any]) -> Warehouse:
        return warehouse_create(tenant=self.tenant, actor=request.user, **_warehouse_fields(fields))


class WarehouseDetailApi(InventoryApi):
    permission_classes = [requires(read=C.CATALOG_VIEW, write=C.WAREHOUSES_MANAGE)]

    @extend_schema_serializer(component_name="WarehouseUpdate")
    class InputSerializer(_WarehouseFieldsSerializer):
        pass

    OutputSerializer = WarehouseOutputSerializer

    @extend_schema(operation_id="warehouses_retrieve", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        return Response(self.OutputSerializer(selectors.warehouse_get(tenant=self.tenant, code=code)).data)

    @extend_schema(operation_id="warehouses_update", request=InputSerializer, responses=OutputSerializer)
    def patch(self, request: Request, code: str) -> Response:
        warehouse = selectors.warehouse_get(tenant=self.tenant, code=code)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        warehouse = warehouse_update(
            tenant=self.tenant,
            warehouse_id=warehouse.pk,
            actor=request.user,
            **_warehouse_fields(data.validated_data),
        )
        return Response(self.OutputSerializer(warehouse).data)


# --- SKUs ---------------------------------------------------------------------------------
@extend_schema_serializer(component_name="Sku")
class SkuOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    barcode = serializers.CharField()
    weight_grams = serializers.IntegerField()
    length_mm = serializers.IntegerField()
    width_mm = serializers.IntegerField()
    height_mm = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    returnable = serializers.BooleanField()
    active = serializers.BooleanField()
    lead_time_days = serializers.IntegerField(allow_null=True)


class _SkuFieldsSerializer(BodySerializer):
    name = serializers.CharField(max_length=255)
    barcode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    weight_grams = model_integer(SKU, "weight_grams", required=False)
    length_mm = model_integer(SKU, "length_mm", required=False)
    width_mm = model_integer(SKU, "width_mm", required=False)
    height_mm = model_integer(SKU, "height_mm", required=False)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    returnable = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)
    lead_time_days = model_integer(
        SKU, "lead_time_days", min_value=0, max_value=365, required=False, allow_null=True
    )


@extend_schema_serializer(component_name="SkuCreate")
class SkuCreateSerializer(_SkuFieldsSerializer):
    code = code_field(max_length=64)


@list_create_schema("skus", SkuCreateSerializer, SkuOutputSerializer)
class SkuListApi(CodedListCreateApi):
    permission_classes = [requires(read=C.CATALOG_VIEW, write=C.SKUS_MANAGE)]
    route = "POST /api/v1/skus/"
    InputSerializer = SkuCreateSerializer
    OutputSerializer = SkuOutputSerializer

    def rows(self) -> QuerySet[SKU]:
        return selectors.sku_list(tenant=self.tenant)

    def create(self, request: Request, fields: dict[str, Any]) -> SKU:
        return sku_create(tenant=self.tenant, actor=request.user, **fields)


class SkuDetailApi(InventoryApi):
    permission_classes = [requires(read=C.CATALOG_VIEW, write=C.SKUS_MANAGE)]

    @extend_schema_serializer(component_name="SkuUpdate")
    class InputSerializer(_SkuFieldsSerializer):
        pass

    OutputSerializer = SkuOutputSerializer

    @extend_schema(operation_id="skus_retrieve", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        return Response(self.OutputSerializer(selectors.sku_get(tenant=self.tenant, code=code)).data)

    @extend_schema(operation_id="skus_update", request=InputSerializer, responses=OutputSerializer)
    def patch(self, request: Request, code: str) -> Response:
        sku = selectors.sku_get(tenant=self.tenant, code=code)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        sku = sku_update(tenant=self.tenant, sku_id=sku.pk, actor=request.user, **data.validated_data)
        return Response(self.OutputSerializer(sku).data)


class SkuAvailabilityApi(InventoryApi):
    permission_classes = [requires(C.STOCK_VIEW)]

    @extend_schema_serializer(component_name="WarehouseAvailability")
    class WarehouseRowSerializer(serializers.Serializer):
        warehouse = serializers.CharField()
        on_hand = serializers.IntegerField()
        allocated = serializers.IntegerField()
        reserved = serializers.IntegerField()
        available = serializers.IntegerField()

    @extend_schema_serializer(component_name="SkuAvailability")
    class OutputSerializer(serializers.Serializer):
        sku = serializers.CharField()
        available = serializers.IntegerField()
        warehouses = serializers.ListField(child=serializers.DictField())

    OutputSerializer._declared_fields["warehouses"] = WarehouseRowSerializer(many=True)

    @extend_schema(operation_id="skus_availability", responses=OutputSerializer)
    def get(self, request: Request, code: str) -> Response:
        sku = selectors.sku_get(tenant=self.tenant, code=code)
        return Response(self.OutputSerializer(selectors.sku_availability(tenant=self.tenant, sku=sku)).data)


# --- stock --------------------------------------------------------------------------------
class CodeFilterSerializer(serializers.Serializer):
    """Query filters by SKU and warehouse code (query strings: not an InputSerializer)."""

    sku = serializers.CharField(max_length=64, required=False, allow_blank=True)
    warehouse = serializers.CharField(max_length=32, required=False, allow_blank=True)


class StockListApi(InventoryApi):
    permission_classes = [requires(C.STOCK_VIEW)]
    pagination_class = CursorPagination
    OutputSerializer = StockRowSerializer

    @extend_schema(
        operation_id="stock_list",
        parameters=[
            OpenApiParameter("sku", {"type": "string", "maxLength": 64}, description="SKU code"),
            OpenApiParameter("warehouse", {"type": "string", "maxLength": 32}, description="Warehouse code"),
        ],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = CodeFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        qs = selectors.stock_list(
            tenant=self.tenant,
            sku_code=filters.validated_data.get("sku") or None,
            warehouse_code=filters.validated_data.get("warehouse") or None,
        )
        return self.paginated(qs, self.OutputSerializer)


class StockAdjustmentApi(InventoryApi):
    permission_classes = [requires(C.STOCK_COUNT)]

    @extend_schema_serializer(component_name="StockAdjustment")
    class InputSerializer(BodySerializer):
        sku = TenantSkuCodeField()
        warehouse = TenantWarehouseCodeField()
        delta = model_integer(
            StockLevel, "on_hand", required=False, min_value=-1_000_000, max_value=1_000_000
        )
        on_hand = model_integer(StockLevel, "on_hand", required=False, min_value=0, max_value=10_000_000)
        reason = serializers.ChoiceField(
            choices=[(r.value, r.label) for r in map(MovementReason, ADJUSTMENT_REASONS)]
        )
        reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("delta" in attrs) == ("on_hand" in attrs):
                raise serializers.ValidationError(
                    serializers.ErrorDetail("Give exactly one of delta or on_hand.", code="delta_or_on_hand")
                )
            if attrs.get("delta") == 0:
                raise serializers.ValidationError(
                    {"delta": [serializers.ErrorDetail("A delta of 0 changes nothing.", code="zero_delta")]}
                )
            return attrs

    OutputSerializer = StockRowSerializer

    @extend_schema(operation_id="stock_adjust", request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        level = stock_adjust(
            tenant=self.tenant,
            sku_id=values["sku"].pk,
            warehouse_id=values["warehouse"].pk,
            delta=values.get("delta"),
            on_hand=values.get("on_hand"),
            reason=values["reason"],
            reference=values["reference"],
            actor=request.user,
        )
        level = selectors.stock_level_get(
            tenant=self.tenant, sku_id=level.sku_id, warehouse_id=level.warehouse_id
        )
        return Response(self.OutputSerializer(level).data)


# --- reservations -------------------------------------------------------------------------
@extend_schema_serializer(component_name="Reservation")
class ReservationOutputSerializer(serializers.Serializer):
    @extend_schema_serializer(component_name="ReservationLine")
    class LineSerializer(serializers.Serializer):
        sku = serializers.CharField()
        quantity = serializers.IntegerField()
        warehouse = serializers.CharField()

    id = serializers.IntegerField()
    state = serializers.CharField()
    expires_at = serializers.DateTimeField()
    lines = LineSerializer(many=True)


class ReservationCreateApi(InventoryApi):
    permission_classes = [requires(C.RESERVATIONS_MANAGE)]

    @extend_schema_serializer(component_name="ReservationLineInput")
    class LineSerializer(BodySerializer):
        sku = TenantSkuCodeField()
        quantity = BoundedIntegerField(min_value=1, max_value=100_000)

    @extend_schema_serializer(component_name="ReservationCreate")
    class InputSerializer(BodySerializer):
        lines = serializers.ListField(min_length=1, max_length=200)
        ttl_seconds = BoundedIntegerField(
            min_value=1, max_value=MAX_RESERVATION_TTL, required=False, default=DEFAULT_RESERVATION_TTL
        )
        ship_to = AddressSerializer()
        reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    InputSerializer._declared_fields["lines"] = LineSerializer(many=True, allow_empty=False, max_length=200)
    OutputSerializer = ReservationOutputSerializer

    @extend_schema(
        operation_id="reservations_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, "POST /api/v1/reservations/", lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        address = values["ship_to"]
        reservation = reservation_create(
            tenant=self.tenant,
            lines=[(line["sku"].pk, line["quantity"]) for line in values["lines"]],
            ship_to=ShipTo(
                country=address["country"], postal_code=address["postal_code"], city=address["city"]
            ),
            ttl_seconds=values["ttl_seconds"],
            reference=values["reference"],
            actor=request.user,
        )
        return Response(_reservation_body(self.tenant, reservation), status=status.HTTP_201_CREATED)


def _reservation_body(tenant: Any, reservation: Any) -> dict[str, Any]:
    return ReservationOutputSerializer(
        {
            "id": reservation.pk,
            "state": reservation.state,
            "expires_at": reservation.expires_at,
            "lines": selectors.reservation_lines(tenant=tenant, reservation=reservation),
        }
    ).data


class ReservationDetailApi(InventoryApi):
    permission_classes = [requires(read=C.STOCK_VIEW, write=C.RESERVATIONS_MANAGE)]
    OutputSerializer = ReservationOutputSerializer

    @extend_schema(operation_id="reservations_retrieve", responses=OutputSerializer)
    def get(self, request: Request, reservation_id: int) -> Response:
        reservation = selectors.reservation_get(tenant=self.tenant, reservation_id=reservation_id)
        return Response(_reservation_body(self.tenant, reservation))

    @extend_schema(operation_id="reservations_release", responses={204: None})
    def delete(self, request: Request, reservation_id: int) -> Response:
        reservation = selectors.reservation_get(tenant=self.tenant, reservation_id=reservation_id)
        reservation_release(tenant=self.tenant, reservation_id=reservation.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- replenishment ------------------------------------------------------------------------
class ReplenishmentApi(InventoryApi):
    extra_error_statuses = ("404",)  # ?sku= or ?warehouse= naming none of the tenant's
    permission_classes = [requires(C.REPLENISHMENT_VIEW)]

    @extend_schema_serializer(component_name="ReorderSuggestion")
    class ReorderSerializer(serializers.Serializer):
        sku = serializers.CharField()
        sku_name = serializers.CharField()
        warehouse = serializers.CharField()
        on_hand = serializers.IntegerField()
        available = serializers.IntegerField()
        incoming = serializers.IntegerField()
        shipped = serializers.IntegerField(help_text="Units shipped in the window")
        velocity_per_day = serializers.FloatField()
        days_of_cover = serializers.FloatField(allow_null=True)
        lead_time_days = serializers.IntegerField()
        safety_stock = serializers.IntegerField()
        reorder_point = serializers.IntegerField()
        reorder_quantity = serializers.IntegerField()

    @extend_schema_serializer(component_name="TransferSuggestion")
    class TransferSerializer(serializers.Serializer):
        sku = serializers.CharField()
        from_warehouse = serializers.CharField()
        to_warehouse = serializers.CharField()
        quantity = serializers.IntegerField()
        distance_km = serializers.FloatField(allow_null=True)
        reason = serializers.CharField()

    @extend_schema_serializer(component_name="Replenishment")
    class OutputSerializer(serializers.Serializer):
        window_days = serializers.IntegerField()
        reorders = serializers.ListField()
        transfers = serializers.ListField()

    OutputSerializer._declared_fields["reorders"] = ReorderSerializer(many=True)
    OutputSerializer._declared_fields["transfers"] = TransferSerializer(many=True)

    class FilterSerializer(CodeFilterSerializer):
        days = BoundedIntegerField(min_value=1, max_value=365, required=False, default=28)

    @extend_schema(
        operation_id="replenishment_retrieve",
        parameters=[
            OpenApiParameter("sku", {"type": "string", "maxLength": 64}, description="Only this SKU code"),
            OpenApiParameter(
                "warehouse", {"type": "string", "maxLength": 32}, description="Only this warehouse code"
            ),
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": 365},
                description="Sales window in days (default 28)",
            ),
        ],
        responses=OutputSerializer,
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        sku = selectors.sku_get(tenant=self.tenant, code=params["sku"]) if params.get("sku") else None
        warehouse = (
            selectors.warehouse_get(tenant=self.tenant, code=params["warehouse"])
            if params.get("warehouse")
            else None
        )
        report = replenishment_report(
            tenant=self.tenant,
            window_days=params["days"],
            sku_id=sku.pk if sku else None,
            warehouse_id=warehouse.pk if warehouse else None,
        )
        return Response(
            self.OutputSerializer(
                {
                    "window_days": report.window_days,
                    "reorders": report.reorders,
                    "transfers": report.transfers,
                }
            ).data
        )
