"""Shapes shared by the inventory API views. Parsing and rendering only."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
# Countries whose addresses need a postal code, with the format it must have.
POSTAL_FORMATS: dict[str, re.Pattern[str]] = {
    "US": US_ZIP,
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Z]{2}$"),
    "AU": re.compile(r"^\d{4}$"),
}


def code_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(CODE_PATTERN, max_length=kwargs.pop("max_length", 64), **kwargs)


class CountryField(serializers.CharField):
    default_error_messages = {"invalid_country": "Use an ISO 3166-1 alpha-2 country code."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip().upper()
        if not COUNTRY_PATTERN.match(value):
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
        postal = attrs.get("postal_code", "").strip().upper()
        attrs["postal_code"] = postal
        pattern = POSTAL_FORMATS.get(attrs["country"])
        if pattern is not None:
            if not postal:
                raise serializers.ValidationError(
                    {"postal_code": [serializers.ErrorDetail("A postal code is required.", code="required")]}
                )
            if not pattern.match(postal):
                raise serializers.ValidationError(
                    {
                        "postal_code": [
                            serializers.ErrorDetail(
                                f"Not a valid postal code for {attrs['country']}.", code="invalid_postal_code"
                            )
                        ]
                    }
                )
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
