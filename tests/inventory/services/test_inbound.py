"""Stock on its way: purchase orders, transfers in transit, promise dates for backorders."""

from __future__ import annotations

from datetime import date

import pytest

from inventory.errors import InventoryError
from inventory.models import StockLevel, StockMovement
from inventory.selectors import incoming_for_sku, promise_date_for
from inventory.services import inbound_create, inbound_receive, stock_transfer
from inventory.signals import stock_became_available
from tests.inventory.factories import stock

TODAY = date(2026, 11, 25)


def test_incoming_stock_gives_a_backorder_its_promise_date(tenant_a, warehouses, sku_a):
    stock(tenant_a, sku_a, warehouses[0], 2)
    inbound_create(
        tenant=tenant_a, warehouse_id=warehouses[1].pk, lines=[(sku_a.pk, 5)], expected_at=date(2026, 12, 10)
    )
    inbound_create(
        tenant=tenant_a, warehouse_id=warehouses[2].pk, lines=[(sku_a.pk, 20)], expected_at=date(2026, 12, 1)
    )

    incoming = incoming_for_sku(tenant=tenant_a, sku_id=sku_a.pk)

    assert [(i.expected_at, i.quantity) for i in incoming] == [
        (date(2026, 12, 1), 20),
        (date(2026, 12, 10), 5),
    ]
    assert promise_date_for(tenant=tenant_a, sku_id=sku_a.pk, quantity=2, today=TODAY) == TODAY
    assert promise_date_for(tenant=tenant_a, sku_id=sku_a.pk, quantity=22, today=TODAY) == date(2026, 12, 1)
    assert promise_date_for(tenant=tenant_a, sku_id=sku_a.pk, quantity=27, today=TODAY) == date(2026, 12, 10)
    assert promise_date_for(tenant=tenant_a, sku_id=sku_a.pk, quantity=28, today=TODAY) is None


def test_receiving_a_purchase_order_is_a_receipt_in_the_ledger_and_announces_it(
    tenant_a, warehouses, sku_a, sku_b, django_capture_on_commit_callbacks
):
    shipment = inbound_create(
        tenant=tenant_a,
        warehouse_id=warehouses[0].pk,
        lines=[(sku_a.pk, 5), (sku_b.pk, 2)],
        reference="PO-42",
    )
    received = []
    stock_became_available.connect(listener := lambda sender, sku_ids, **kw: received.append(sku_ids))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            inbound_receive(tenant=tenant_a, shipment_id=shipment.pk, quantities={sku_a.pk: 3})
    finally:
        stock_became_available.disconnect(listener)

    shipment.refresh_from_db()
    assert shipment.state == "partially_received"
    assert received == [[sku_a.pk]]
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a)
    assert level.on_hand == 3
    movement = StockMovement.objects.for_tenant(tenant_a).get(stock_level=level)
    assert (movement.reason, movement.reference) == ("receipt", "PO-42")
    assert [i.quantity for i in incoming_for_sku(tenant=tenant_a, sku_id=sku_a.pk)] == [2]

    inbound_receive(tenant=tenant_a, shipment_id=shipment.pk)
    shipment.refresh_from_db()
    assert shipment.state == "received"
    assert incoming_for_sku(tenant=tenant_a, sku_id=sku_a.pk) == []

    with pytest.raises(InventoryError) as error:
        inbound_receive(tenant=tenant_a, shipment_id=shipment.pk)
    assert error.value.code == "inbound_closed"


def test_over_receipt_is_refused_and_changes_nothing(tenant_a, warehouses, sku_a):
    shipment = inbound_create(tenant=tenant_a, warehouse_id=warehouses[0].pk, lines=[(sku_a.pk, 5)])
    with pytest.raises(InventoryError) as error:
        inbound_receive(tenant=tenant_a, shipment_id=shipment.pk, quantities={sku_a.pk: 6})
    assert error.value.code == "over_receipt"
    assert not StockMovement.objects.for_tenant(tenant_a).exists()


def test_a_transfer_in_transit_is_incoming_at_the_destination_until_received(tenant_a, warehouses, sku_a):
    w1, w2, _ = warehouses
    source = stock(tenant_a, sku_a, w1, 10)

    _, shipment = stock_transfer(
        tenant=tenant_a,
        sku_id=sku_a.pk,
        from_warehouse_id=w1.pk,
        to_warehouse_id=w2.pk,
        quantity=4,
        in_transit=True,
        expected_at=date(2026, 12, 3),
    )

    source.refresh_from_db()
    assert source.on_hand == 6
    assert [(i.warehouse_id, i.quantity) for i in incoming_for_sku(tenant=tenant_a, sku_id=sku_a.pk)] == [
        (w2.pk, 4)
    ]
    inbound_receive(tenant=tenant_a, shipment_id=shipment.pk)
    dest = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=w2)
    assert dest.on_hand == 4
    assert StockMovement.objects.for_tenant(tenant_a).filter(stock_level=dest).get().reason == "transfer_in"
