"""Worlds for the warehouse page tests: warehouses, shipments and pick lists of one tenant.

`door_world` writes the rows directly (no release, no allocation): the door tests only need one
of each thing to point a URL at, in a warehouse the member works in, one they do not, and
another tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fulfillment.models import (
    FulfillmentSettings,
    Label,
    PickList,
    Shipment,
    ShipmentLine,
    WarehouseAssignment,
)
from fulfillment.states import LabelState, PickListKind, ShipmentState
from oms.models import Membership
from orders.models import Order
from orders.services import order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input


@dataclass
class Floor:
    """One warehouse's things for URLs: a pick list, a shipment on it, a line of it."""

    warehouse: Any
    pick_list: Any
    shipment: Any
    line: Any

    def kwargs(self) -> dict[str, int]:
        return {
            "warehouse_id": self.warehouse.pk,
            "pick_list_id": self.pick_list.pk,
            "shipment_id": self.shipment.pk,
            "line_id": self.line.pk,
        }


def manual_release(tenant: Any) -> None:
    """Shipments of this tenant are made by hand in these worlds, not on allocation."""
    FulfillmentSettings.objects.for_tenant(tenant).update_or_create(
        tenant=tenant, defaults={"auto_release": False}
    )


def assign(user: Any, tenant: Any, *warehouses: Any) -> None:
    membership = Membership.objects.for_tenant(tenant).get(user=user)
    for warehouse in warehouses:
        WarehouseAssignment.objects.create(tenant=tenant, membership=membership, warehouse=warehouse)


def floor_in(tenant: Any, warehouse: Any, order: Order, tag: str) -> Floor:
    sku = order.lines.first().sku
    pick_list = PickList.objects.create(tenant=tenant, warehouse=warehouse, kind=PickListKind.SINGLE)
    shipment = Shipment.objects.create(
        tenant=tenant,
        order=order,
        warehouse=warehouse,
        pick_list=pick_list,
        number=f"{tag}-S1",
        state=ShipmentState.PICKING,
        tracking_number=f"{tag}-TRACK",
    )
    line = ShipmentLine.objects.create(
        tenant=tenant, shipment=shipment, order_line=order.lines.first(), sku=sku, quantity=1
    )
    Label.objects.create(
        tenant=tenant,
        shipment=shipment,
        reference=f"{tag}-label",
        state=LabelState.PURCHASED,
        label_url=f"https://labels.example.test/{tag}.pdf",
        tracking_number=f"{tag}-TRACK",
    )
    return Floor(warehouse=warehouse, pick_list=pick_list, shipment=shipment, line=line)


def door_world(tenant: Any, tag: str, warehouses: int = 2) -> list[Floor]:
    """`warehouses` warehouses, each with a pick list, a shipment and a line (all rows of `tenant`)."""
    manual_release(tenant)
    sku = SKUFactory(tenant=tenant, code=f"{tag}-SKU", barcode=f"{tag}-0001")
    floors = []
    for n in range(1, warehouses + 1):
        warehouse = WarehouseFactory(
            tenant=tenant, code=f"{tag}-W{n}", name=f"{tag} depot {n}", postal_code="75201"
        )
        stock(tenant, sku, warehouse, 5)
        order, _ = order_create(
            tenant=tenant,
            data=order_input(
                f"{tag}-ORDER-{n}", lines=[{"sku": sku.code, "quantity": 1, "unit_price": "9.00"}]
            ),
        )
        floors.append(floor_in(tenant, warehouse, order, f"{tag}{n}"))
    return floors
