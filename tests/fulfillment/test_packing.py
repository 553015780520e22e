"""Packing: contents confirmed by scan, parcels weighed, the shipment packed."""

from __future__ import annotations

import pytest

from fulfillment.errors import FulfillmentConflict, FulfillmentError
from fulfillment.models import Parcel, Shipment, ShipmentLine
from fulfillment.services import pack_scan, pick_list_create, pick_scan, shipment_pack, shipment_ship
from inventory.models import SKU
from tests.fulfillment.floor import fresh, released


def _picked(tenant, w3, quantity=2):
    [shipment] = released(tenant, "PACK", [{"sku": "SKU-123", "quantity": quantity, "unit_price": "19.99"}])
    pick_list = pick_list_create(tenant=tenant, warehouse_id=w3.pk)
    pick_scan(tenant=tenant, pick_list_id=pick_list.pk, code="SKU-123", quantity=quantity)
    return fresh(shipment)


def _parcels(shipment):
    return list(
        Parcel.objects.for_tenant(shipment.tenant_id)
        .filter(shipment=shipment)
        .values_list("weight_grams", "length_mm", "width_mm", "height_mm")
    )


def test_scanned_contents_and_a_weighed_parcel_pack_the_shipment(tenant_a, stocked):
    _, _, w3 = stocked
    shipment = _picked(tenant_a, w3)
    line = pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123", actor="test")
    assert (line.sku.code, line.quantity_packed) == ("SKU-123", 1)
    pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123")

    packed = shipment_pack(
        tenant=tenant_a,
        shipment_id=shipment.pk,
        parcels=[{"weight_grams": 1250, "length_mm": 300, "width_mm": 200, "height_mm": 120}],
        actor="test",
    )

    assert (packed.state, packed.packed_at is not None) == ("packed", True)
    assert _parcels(packed) == [(1250, 300, 200, 120)]


def test_the_default_parcel_comes_from_the_skus_weights_and_sizes(tenant_a, stocked):
    _, _, w3 = stocked
    SKU.objects.for_tenant(tenant_a).filter(code="SKU-123").update(
        weight_grams=600, length_mm=300, width_mm=200, height_mm=110
    )
    shipment = _picked(tenant_a, w3)
    line = shipment.lines.get()
    shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, packed_quantities={line.pk: 2})
    assert _parcels(shipment) == [(1200, 300, 200, 220)]


def test_a_box_without_weight_is_refused(tenant_a, stocked):
    _, _, w3 = stocked
    shipment = _picked(tenant_a, w3)
    line = shipment.lines.get()
    with pytest.raises(FulfillmentError) as caught:
        shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, packed_quantities={line.pk: 2})
    assert caught.value.code == "invalid_parcel"  # the SKU has no weight: weigh the box
    with pytest.raises(FulfillmentError):
        shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": "heavy"}])
    assert fresh(shipment).state == "picking"
    assert _parcels(shipment) == []


def test_every_picked_unit_must_be_in_the_box(tenant_a, stocked):
    _, _, w3 = stocked
    shipment = _picked(tenant_a, w3)
    pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123")
    with pytest.raises(FulfillmentConflict) as caught:
        shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 900}])
    assert (caught.value.code, caught.value.extra["skus"]) == ("not_packed", ["SKU-123"])
    assert fresh(shipment).state == "picking"


def test_a_shipment_still_being_picked_cannot_be_packed(tenant_a, stocked):
    _, _, w3 = stocked
    [shipment] = released(tenant_a)
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
    pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123")
    with pytest.raises(FulfillmentConflict) as caught:
        shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 900}])
    assert caught.value.code == "not_picked"


def test_pack_scans_refuse_wrong_and_extra_items(tenant_a, stocked, sku_b):
    _, _, w3 = stocked
    shipment = _picked(tenant_a, w3, quantity=1)
    with pytest.raises(FulfillmentError) as caught:
        pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-456")
    assert caught.value.code == "wrong_item"
    pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123")
    with pytest.raises(FulfillmentConflict) as caught:
        pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123")
    assert caught.value.code == "already_packed"
    assert ShipmentLine.objects.for_tenant(tenant_a).get().quantity_packed == 1


def test_a_shipment_picked_at_the_bench_is_packed_from_pending(tenant_a, stocked):
    [shipment] = released(tenant_a)
    pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123", quantity=2)
    shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 900}])
    line = fresh(shipment.lines.get())
    assert (fresh(shipment).state, line.quantity_picked, line.quantity_packed) == ("packed", 2, 2)


def test_a_packed_shipment_gets_new_parcels_until_it_ships(tenant_a, stocked, monkeypatch):
    monkeypatch.setattr("fulfillment.effects.shipment_shipped", lambda shipment, **kw: None)
    [shipment] = released(tenant_a)
    pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="SKU-123", quantity=2)
    shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 900}])
    shipment_pack(
        tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 950}, {"weight_grams": 10}]
    )
    assert _parcels(shipment) == [(950, 0, 0, 0), (10, 0, 0, 0)]
    shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, carrier="UPS")
    with pytest.raises(FulfillmentConflict):
        shipment_pack(tenant=tenant_a, shipment_id=shipment.pk, parcels=[{"weight_grams": 1}])
    assert len(_parcels(shipment)) == 2


def test_another_tenants_shipment_is_not_found(tenant_a, tenant_b, stocked):
    [shipment] = released(tenant_a)
    with pytest.raises(Shipment.DoesNotExist):
        pack_scan(tenant=tenant_b, shipment_id=shipment.pk, code="SKU-123")
    with pytest.raises(Shipment.DoesNotExist):
        shipment_pack(tenant=tenant_b, shipment_id=shipment.pk, parcels=[{"weight_grams": 1}])
    assert fresh(shipment).state == "pending"
    assert fresh(shipment.lines.get()).quantity_packed == 0


def test_a_pack_scan_matches_a_barcode_in_any_gtin_length(tenant_a, stocked):
    SKU.objects.for_tenant(tenant_a).filter(code="SKU-123").update(barcode="012345678905")
    [shipment] = released(tenant_a)
    line = pack_scan(tenant=tenant_a, shipment_id=shipment.pk, code="00012345678905")
    assert line.quantity_packed == 1
