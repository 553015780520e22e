"""Helpers the marketplace tracking tests share: a recorded shipment, its push row, and the push task."""

from __future__ import annotations

from fulfillment.models import Shipment, ShipmentLine, ShipmentNotification
from fulfillment.states import ShipmentState
from fulfillment.tasks import shipment_tracking_push_task
from inventory.models import Warehouse
from orders.services import order_record_shipment


def ship(order, lines, *, n=1, carrier="USPS"):
    """Record a shipment of `lines` ({order line: units}) as the ship service leaves it."""
    tenant = order.tenant
    number = f"S-{order.number}-{n}"
    tracking = f"9400{order.pk:08d}{n:04d}"
    order_record_shipment(
        tenant=tenant,
        order_id=order.pk,
        reference=number,
        quantities={line.pk: qty for line, qty in lines.items()},
        carrier=carrier,
        tracking_number=tracking,
    )
    shipment = Shipment.objects.create(
        tenant=tenant,
        order=order,
        warehouse=Warehouse.objects.for_tenant(tenant).get(),
        number=number,
        state=ShipmentState.SHIPPED,
        carrier=carrier,
        service="usps_priority",
        tracking_number=tracking,
    )
    for line, qty in lines.items():
        ShipmentLine.objects.create(
            tenant=tenant, shipment=shipment, order_line=line, sku=line.sku, quantity=qty
        )
    return shipment


def row_of(shipment):
    """The shipment's channel-tracking notification row."""
    return ShipmentNotification.objects.for_tenant(shipment.tenant_id).get(
        shipment=shipment, kind="channel_tracking"
    )


def push(shipment):
    """Run the tracking push task for the shipment, as the worker would."""
    shipment_tracking_push_task(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
