"""Orders whose shipments have left the warehouse, built through the order services, for the
tracking and notification tests. Shipments are written as the ship service leaves them
(state shipped, carrier and tracking number set)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from fulfillment.models import FulfillmentSettings, Shipment, ShipmentLine
from fulfillment.states import ShipmentState
from orders.services import order_create, order_record_shipment
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

_numbers = count(1)


def _world(tenant: Any) -> tuple[Any, list[Any]]:
    # These orders' shipments are written by hand below: no automatic release beside them.
    FulfillmentSettings.objects.update_or_create(tenant=tenant, defaults={"auto_release": False})
    warehouse = WarehouseFactory(tenant=tenant, code=f"TRK-{tenant.slug}", postal_code="75201")
    skus = [
        SKUFactory(tenant=tenant, code=f"TRK-{i}", name=name)
        for i, name in ((1, "Trail Runner Shoe"), (2, "Merino Hiking Sock"))
    ]
    for sku in skus:
        stock(tenant, sku, warehouse, 50)
    return warehouse, skus


def shipped_order(
    tenant: Any,
    *,
    parcels: int = 1,
    ship: int | None = None,
    carrier: str = "USPS",
    channel: str = "web",
    email: str = "ana@example.com",
    tracking_url: str = "",
    quiet_for: timedelta | None = None,
) -> tuple[Any, list[Shipment]]:
    """An order of `parcels` lines, one shipment per line; the first `ship` of them (all by
    default) shipped with a tracking number. Returns (order, shipped shipments)."""
    from inventory.models import Warehouse

    warehouse = Warehouse.objects.for_tenant(tenant).filter(code=f"TRK-{tenant.slug}").first()
    if warehouse is None:
        warehouse, _ = _world(tenant)
    n = next(_numbers)
    lines = [{"sku": f"TRK-{i + 1}", "quantity": 1, "unit_price": "20.00"} for i in range(parcels)]
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"T-{n}",
            lines=lines,
            channel=channel,
            customer={"email": email, "name": "Ana Lima"},
        ),
    )
    shipments = []
    shipped_at = timezone.now() - (quiet_for or timedelta(0))
    for i, line in enumerate(order.lines.order_by("pk")[: parcels if ship is None else ship]):
        number = f"S-{n}-{i + 1}"
        tracking = f"94001{n:08d}{i + 1:04d}"
        order_record_shipment(
            tenant=tenant,
            order_id=order.pk,
            reference=number,
            quantities={line.pk: line.quantity},
            carrier=carrier,
            tracking_number=tracking,
        )
        shipment = Shipment.objects.create(
            tenant=tenant,
            order=order,
            warehouse=warehouse,
            number=number,
            state=ShipmentState.SHIPPED,
            carrier=carrier,
            service="usps_priority",
            tracking_number=tracking,
            tracking_url=tracking_url,
            shipped_at=shipped_at,
        )
        ShipmentLine.objects.create(
            tenant=tenant, shipment=shipment, order_line=line, sku=line.sku, quantity=line.quantity
        )
        shipments.append(shipment)
    order.refresh_from_db()
    return order, shipments
