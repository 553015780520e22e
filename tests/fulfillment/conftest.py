"""Fulfillment fixtures: the order fixtures (W1 NJ, W2 LA, W3 Dallas; SKU-123, SKU-456; `stocked`),
an order with a packed shipment, the fake Shippo server, a Shippo account.

Until the floor services make shipments, `make_shipment` writes the rows directly (the FSM field
is protected: its state is set with an UPDATE).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fulfillment.models import Parcel, Shipment, ShipmentLine
from fulfillment.states import ShipmentState
from integrations.models import ChannelAccount, ChannelKind
from integrations.shippo.fake_server import FakeShippo
from orders.models import OrderLine
from orders.services import order_create
from tests.orders.conftest import order_input, sku_a, sku_b, stocked, warehouses  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def shippo_server() -> Iterator[FakeShippo]:
    fake = FakeShippo().start()
    yield fake
    fake.stop()


@pytest.fixture
def shippo(shippo_server: FakeShippo) -> Iterator[FakeShippo]:
    """The fake Shippo, empty, with no faults, for one test."""
    shippo_server.reset()
    yield shippo_server
    shippo_server.reset()


def make_shippo_account(tenant, url: str, *, key: str = "shippo_test_key", name: str = "Shippo"):
    return ChannelAccount.objects.create(
        tenant=tenant, kind=ChannelKind.SHIPPO, name=name, base_url=url, credentials=key
    )


@pytest.fixture
def shippo_account_a(tenant_a, shippo):
    return make_shippo_account(tenant_a, shippo.url)


@pytest.fixture
def shippo_account_b(tenant_b, shippo):
    return make_shippo_account(tenant_b, shippo.url, key="shippo_test_globex")


def make_shipment(
    order,
    warehouse,
    *,
    state: str = ShipmentState.PACKED,
    parcels: tuple[tuple[int, int, int, int], ...] = ((1200, 300, 200, 120),),
    number: str | None = None,
    **fields,
) -> Shipment:
    """A shipment of all the order's lines from `warehouse`, with parcels (g, mm, mm, mm), in `state`."""
    tenant = order.tenant
    shipment = Shipment.objects.create(
        tenant=tenant,
        order=order,
        warehouse=warehouse,
        number=number or f"{order.number}-{Shipment.objects.for_tenant(tenant).count() + 1}",
        service_level=fields.pop("service_level", order.service_level),
        **fields,
    )
    for line in OrderLine.objects.for_tenant(tenant).filter(order=order).order_by("pk"):
        ShipmentLine.objects.create(
            tenant=tenant,
            shipment=shipment,
            order_line=line,
            sku=line.sku,
            quantity=line.quantity,
            quantity_picked=line.quantity,
            quantity_packed=line.quantity,
        )
    for weight, length, width, height in parcels:
        Parcel.objects.create(
            tenant=tenant,
            shipment=shipment,
            weight_grams=weight,
            length_mm=length,
            width_mm=width,
            height_mm=height,
        )
    Shipment.objects.for_tenant(tenant).filter(pk=shipment.pk).update(state=state)
    shipment.refresh_from_db()
    return shipment


def addressed(warehouse):
    """Give a test warehouse a street address (carriers need one)."""
    warehouse.line1 = "100 Commerce St"
    warehouse.city = {"07001": "Avenel", "90001": "Los Angeles", "75201": "Dallas"}.get(
        warehouse.postal_code, "Austin"
    )
    warehouse.region = {"07001": "NJ", "90001": "CA", "75201": "TX"}.get(warehouse.postal_code, "TX")
    warehouse.save()
    return warehouse


@pytest.fixture
def order_a(tenant_a, stocked):  # noqa: F811
    order, _ = order_create(tenant=tenant_a, data=order_input("W-2001"))
    return order


@pytest.fixture
def packed_shipment(order_a, warehouses):  # noqa: F811
    """Order W-2001 (2 x SKU-123 to Austin TX) packed in Dallas (W3), one 1.2 kg parcel."""
    return make_shipment(order_a, addressed(warehouses[2]))
