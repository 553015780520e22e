"""Shipping a shipment: through order_record_shipment (stock out, order state, capture), once."""

from __future__ import annotations

import pytest

from fulfillment.errors import FulfillmentConflict, FulfillmentError
from fulfillment.models import Label, Shipment
from fulfillment.services import shipment_cancel, shipment_ship
from fulfillment.states import LabelState
from inventory.models import StockMovement
from orders.models import Allocation, OrderEvent
from tests.fulfillment.floor import SHOES_AND_SOCK, fresh, level, released


@pytest.fixture
def shipped_effects(monkeypatch):
    """What fulfillment.effects.shipment_shipped was called with (the tracking helper fills it)."""
    calls = []
    monkeypatch.setattr("fulfillment.effects.shipment_shipped", lambda shipment, **kw: calls.append(shipment))
    return calls


def test_a_3pl_ships_a_pending_shipment_with_its_tracking(tenant_a, stocked, sku_a, shipped_effects):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    before = level(tenant_a, sku_a, w3)

    result = shipment_ship(
        tenant=tenant_a,
        shipment_id=shipment.pk,
        carrier="UPS",
        tracking_number="1Z999",
        tracking_url="https://track.example/1Z999",
        actor="test",
    )

    assert (result.state, result.carrier, result.tracking_number) == ("shipped", "UPS", "1Z999")
    assert result.shipped_at is not None
    assert level(tenant_a, sku_a, w3) == (before[0] - 2, before[1] - 2)
    [movement] = StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment")
    assert (movement.delta, movement.reference) == (-2, f"shipment:{shipment.pk}")
    order = fresh(shipment.order)
    assert order.state == "shipped"
    assert not Allocation.objects.for_tenant(tenant_a).filter(order_line__order=order).exists()
    event = OrderEvent.objects.for_tenant(tenant_a).get(order=order, type="shipment")
    assert (event.data["carrier"], event.data["tracking_number"]) == ("UPS", "1Z999")
    assert [s.pk for s in shipped_effects] == [shipment.pk]


def test_shipping_twice_changes_nothing(tenant_a, stocked, sku_a, shipped_effects):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, carrier="UPS", tracking_number="1Z1")
    after_first = level(tenant_a, sku_a, w3)
    again = shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, carrier="DHL", tracking_number="other")
    assert (again.state, again.carrier, again.tracking_number) == ("shipped", "UPS", "1Z1")
    assert level(tenant_a, sku_a, w3) == after_first
    assert StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").count() == 1
    assert OrderEvent.objects.for_tenant(tenant_a).filter(type="shipment").count() == 1
    assert len(shipped_effects) == 1


def test_without_a_label_the_carrier_is_required(tenant_a, stocked, sku_a):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    before = level(tenant_a, sku_a, w3)
    with pytest.raises(FulfillmentError) as caught:
        shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, tracking_number="1Z1")
    assert caught.value.code == "carrier_required"
    assert fresh(shipment).state == "pending"
    assert level(tenant_a, sku_a, w3) == before
    assert fresh(shipment.order).state == "in_fulfillment"


def test_a_bought_label_ships_with_its_tracking(tenant_a, stocked, shipped_effects):
    [shipment] = released(tenant_a)
    shipment.pack()
    shipment.label_bought()
    shipment.save()
    Label.objects.create(
        tenant=tenant_a,
        shipment=shipment,
        reference=f"label:{shipment.pk}:1",
        state=LabelState.PURCHASED,
        carrier="USPS",
        service="usps_priority",
        tracking_number="9400111",
        tracking_url="https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111",
    )
    result = shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, actor="test")
    assert (result.state, result.carrier, result.tracking_number) == ("shipped", "USPS", "9400111")
    assert result.tracking_url.endswith("9400111")
    assert fresh(shipment.order).state == "shipped"


def test_each_shipment_of_a_split_order_ships_its_own_warehouse(
    tenant_a, stocked, sku_a, sku_b, shipped_effects
):
    w1, _, w3 = stocked
    shipments = {s.warehouse_id: s for s in released(tenant_a, "SPLIT", SHOES_AND_SOCK)}
    shoes_before = level(tenant_a, sku_a, w3)

    shipment_ship(tenant=tenant_a, shipment_id=shipments[w1.pk].pk, carrier="UPS", tracking_number="A")
    order = fresh(shipments[w1.pk].order)
    assert order.state == "partially_shipped"
    assert level(tenant_a, sku_b, w1) == (3, 0)
    assert level(tenant_a, sku_a, w3) == shoes_before  # the other warehouse's units stay allocated
    assert Allocation.objects.for_tenant(tenant_a).get(order_line__order=order).warehouse_id == w3.pk

    shipment_ship(tenant=tenant_a, shipment_id=shipments[w3.pk].pk, carrier="UPS", tracking_number="B")
    assert fresh(order).state == "shipped"
    assert level(tenant_a, sku_a, w3) == (shoes_before[0] - 2, shoes_before[1] - 2)


def test_a_cancelled_shipment_cannot_ship(tenant_a, stocked):
    [shipment] = released(tenant_a)
    shipment_cancel(tenant=tenant_a, shipment_id=shipment.pk, reason="wrong")
    with pytest.raises(FulfillmentConflict) as caught:
        shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, carrier="UPS")
    assert caught.value.code == "not_shippable"
    assert fresh(shipment).state == "cancelled"
    assert not StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").exists()


def test_another_tenants_shipment_is_not_found(tenant_a, tenant_b, stocked):
    [shipment] = released(tenant_a)
    with pytest.raises(Shipment.DoesNotExist):
        shipment_ship(tenant=tenant_b, shipment_id=shipment.pk, carrier="UPS")
    assert fresh(shipment).state == "pending"
