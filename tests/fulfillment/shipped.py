"""Orders whose shipments have left the warehouse, through the real services: placed (allocated),
released to the warehouses (a shipment per warehouse), shipped with a 3PL's tracking number
(`fulfillment.services.shipment_ship`), for the tracking and notification tests.

Each tenant gets two warehouses, Dallas with TRK-1 and Avenel NJ with TRK-2, so an order of
`parcels=2` (one of each) is split into two shipments. The ship writes its effects (emails, the
channel push, the tracking registration) to the outbox; they run only where a test runs the
on-commit callbacks.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from fulfillment.models import Shipment
from fulfillment.services import order_release_to_warehouse, shipment_ship
from inventory.models import Warehouse
from orders.services import order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

_numbers = count(1)
SKUS = (("TRK-1", "Trail Runner Shoe", "75201"), ("TRK-2", "Merino Hiking Sock", "07001"))


def _stock_up(tenant: Any) -> None:
    if Warehouse.objects.for_tenant(tenant).filter(code="TRK-1").exists():
        return
    for code, name, postal_code in SKUS:
        warehouse = WarehouseFactory(tenant=tenant, code=code, postal_code=postal_code)
        stock(tenant, SKUFactory(tenant=tenant, code=code, name=name), warehouse, 50)


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
    """An order of `parcels` lines (one unit each), one shipment per line; the first `ship` of them
    (all by default) shipped with a tracking number, `quiet_for` ago. Returns (order, shipped)."""
    _stock_up(tenant)
    n = next(_numbers)
    lines = [{"sku": code, "quantity": 1, "unit_price": "20.00"} for code, _, _ in SKUS[:parcels]]
    order, _ = order_create(
        tenant=tenant,
        data=order_input(
            f"T-{n}", lines=lines, channel=channel, customer={"email": email, "name": "Ana Lima"}
        ),
    )
    if not Shipment.objects.for_tenant(tenant).filter(order=order).exists():  # else released on commit
        order_release_to_warehouse(tenant=tenant, order_id=order.pk, actor="test")
    released = sorted(
        Shipment.objects.for_tenant(tenant).filter(order=order), key=lambda s: s.lines.get().sku.code
    )
    assert len(released) == parcels, "one shipment per line"
    shipped = []
    for i, shipment in enumerate(released[: parcels if ship is None else ship]):
        shipped.append(
            shipment_ship(
                tenant=tenant,
                shipment_id=shipment.pk,
                carrier=carrier,
                tracking_number=f"94001{n:08d}{i + 1:04d}",
                tracking_url=tracking_url,
                actor="test",
            )
        )
    if quiet_for:
        when = timezone.now() - quiet_for
        Shipment.objects.for_tenant(tenant).filter(pk__in=[s.pk for s in shipped]).update(
            shipped_at=when, last_tracking_at=None
        )
    order.refresh_from_db()
    return order, [Shipment.objects.for_tenant(tenant).get(pk=s.pk) for s in shipped]
