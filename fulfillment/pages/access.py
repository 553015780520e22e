"""Which warehouses a member works in, for the warehouse pages.

Every page first needs `Capability.FULFILLMENT_WORK` (the view's decorator), then names a
warehouse in its URL. Who holds `Capability.SHIPMENTS_MANAGE` (owners, managers) works every
warehouse of the tenant; anyone else (the warehouse role) only the warehouses a
`WarehouseAssignment` gives them. Any other warehouse, like any other tenant's, is a 404: a
page never tells a picker that a warehouse they may not see exists.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from fulfillment.models import WarehouseAssignment
from inventory.models import Warehouse
from oms.core.roles import Capability, request_has

# Working every warehouse is part of managing shipments; the role table says who holds it.
ALL_WAREHOUSES = Capability.SHIPMENTS_MANAGE


def works_every_warehouse(request: Any) -> bool:
    return request_has(request, ALL_WAREHOUSES)


def warehouses_for(request: Any) -> QuerySet[Warehouse]:
    """The active warehouses the signed-in member may work in, by code."""
    tenant = request.tenant
    if tenant is None:
        return Warehouse.objects.none()
    warehouses = Warehouse.objects.for_tenant(tenant).filter(active=True)
    if not works_every_warehouse(request):
        membership = getattr(request, "membership", None)
        if membership is None:
            return Warehouse.objects.none()
        assigned = WarehouseAssignment.objects.for_tenant(tenant).filter(membership=membership)
        warehouses = warehouses.filter(pk__in=assigned.values("warehouse_id"))
    return warehouses.order_by("code", "pk")


def warehouse_or_404(request: Any, warehouse_id: int) -> Warehouse:
    warehouse = warehouses_for(request).filter(pk=warehouse_id).first()
    if warehouse is None:
        raise Http404("No such warehouse.")
    return warehouse
