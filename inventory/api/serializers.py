"""Shapes shared by the inventory API views. Parsing and rendering only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def code_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(CODE_PATTERN, max_length=kwargs.pop("max_length", 64), **kwargs)


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
