"""Shapes shared by the inventory API views. Parsing and rendering only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from oms.core.addresses import ISO_COUNTRIES, normalize_country, postal_code_error

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def code_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(CODE_PATTERN, max_length=kwargs.pop("max_length", 64), **kwargs)


class CountryField(serializers.CharField):
    default_error_messages = {"invalid_country": "Use an ISO 3166-1 alpha-2 country code."}

    def to_internal_value(self, data: Any) -> str:
        value = normalize_country(super().to_internal_value(data))
        if value not in ISO_COUNTRIES:
            self.fail("invalid_country")
        return value


@extend_schema_serializer(component_name="InventoryAddress")
class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = CountryField(max_length=2)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["postal_code"] = attrs.get("postal_code", "").strip().upper()
        problem = postal_code_error(attrs["country"], attrs["postal_code"])
        if problem:
            code, message = problem
            field = "country" if code == "invalid_country" else "postal_code"
            raise serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})
        return attrs


@extend_schema_serializer(component_name="StockRow")
class StockRowSerializer(serializers.Serializer):
    sku = serializers.CharField(source="sku.code")
    warehouse = serializers.CharField(source="warehouse.code")
    on_hand = serializers.IntegerField()
    allocated = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class TenantSkuCodeField(serializers.CharField):
    """A SKU code of the request's tenant; resolves to the SKU. Unknown -> `unknown_sku`."""

    default_error_messages = {"unknown_sku": "No SKU with this code."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        from inventory.models import SKU

        code = super().run_validation(data)
        sku = SKU.objects.for_tenant(self.context["tenant"]).filter(code=code).first()
        if sku is None:
            self.fail("unknown_sku")
        return sku


class TenantWarehouseCodeField(serializers.CharField):
    default_error_messages = {"unknown_warehouse": "No warehouse with this code."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        from inventory.models import Warehouse

        code = super().run_validation(data)
        warehouse = Warehouse.objects.for_tenant(self.context["tenant"]).filter(code=code).first()
        if warehouse is None:
            self.fail("unknown_warehouse")
        return warehouse
