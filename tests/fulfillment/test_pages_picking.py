"""The pick-list index and the pick-list page as a picker uses them: make a list, scan (right,
wrong, already picked), short-pick (re-routed or backordered), then pack by scan.

W1 Avenel NJ, W2 Los Angeles, W3 Dallas (tests/inventory/conftest.py); SKU-123 is in W2 (5) and
W3 (10), so orders to Austin take it from Dallas, and a short pick there re-routes to Los Angeles.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.models import PickList, Shipment, ShipmentLine
from fulfillment.states import ShipmentState
from inventory.models import StockLevel
from oms.models import Role
from tests.fulfillment.conftest import addressed
from tests.fulfillment.floor import SHOES_AND_SOCK, fresh, released
from tests.fulfillment.pages_world import assign
from tests.inventory.factories import stock
from tests.worlds import staff


@pytest.fixture
def dallas(tenant_a, stocked, sku_a):
    w3 = addressed(stocked[2])  # carriers need a street to quote from
    sku_a.barcode = "0012345678905"
    sku_a.save()
    StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a, warehouse=w3).update(bin_location="B-07-2")
    return w3


@pytest.fixture
def picker(client, tenant_a, dallas):
    user = staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")
    assign(user, tenant_a, dallas)
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def make_list(client, warehouse, **form):
    data = {"kind": "batch", "limit": 50, "carrier": "", "service_level": "", "promised_by": "", **form}
    return client.post(reverse("warehouse:pick_list_create", args=[warehouse.pk]), data, follow=True)


def scan(client, pick_list, code):
    url = reverse("warehouse:pick_scan", args=[pick_list.warehouse_id, pick_list.pk])
    return client.post(url, {"code": code}, follow=True)


def short(client, pick_list, line, quantity, reason="not_found"):
    url = reverse("warehouse:pick_short", args=[pick_list.warehouse_id, pick_list.pk, line.pk])
    return client.post(url, {"quantity": quantity, "reason": reason}, follow=True)


def test_the_index_counts_what_waits_and_makes_a_list_of_it(picker, tenant_a, dallas):
    first = released(tenant_a, "W-1")[0]
    second = released(tenant_a, "W-2")[0]
    index = picker.get(reverse("warehouse:index", args=[dallas.pk]))
    assert index.context["pending_count"] == 2
    assert "standard" in html(index)  # the service levels waiting are offered as a filter

    page = make_list(picker, dallas)

    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    assert page.redirect_chain[-1][0] == reverse("warehouse:pick_list", args=[dallas.pk, pick_list.pk])
    assert f"Pick list {pick_list.pk} made." in html(page)
    assert {fresh(first).state, fresh(second).state} == {ShipmentState.PICKING}
    assert page.context["units_total"] == 4 and page.context["units_done"] == 0
    assert "B-07-2" in html(page) and 'name="code"' in html(page) and "autofocus" in html(page)
    assert "zxing-browser.min.js" in html(page)  # the camera's library, offered only where we scan


def test_nothing_to_pick_is_said_plainly(picker, dallas):
    page = make_list(picker, dallas)
    assert page.redirect_chain[-1][0] == reverse("warehouse:index", args=[dallas.pk])
    assert 'class="error"' in html(page)


def test_a_scan_by_barcode_or_sku_code_confirms_one_unit(picker, tenant_a, dallas):
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)

    page = scan(picker, pick_list, "0012345678905")
    assert f"Picked SKU-123 for {shipment.number} · 1 left on the list." in html(page)
    page = scan(picker, pick_list, "SKU-123")
    assert "The pick list is done: pack the shipments." in html(page)
    line = ShipmentLine.objects.for_tenant(tenant_a).get(shipment=shipment)
    assert line.quantity_picked == 2
    assert page.context["units_done"] == 2
    assert [o.shipment_id for o in page.context["ready_to_pack"]] == [shipment.pk]
    assert "data-scan-form" not in html(page)  # nothing left to scan


def test_a_wrong_item_is_refused_loudly_and_nothing_moves(picker, tenant_a, dallas):
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)

    page = scan(picker, pick_list, "4006381333931")

    text = html(page)
    assert '<li class="error" role="alert" aria-live="assertive">' in text
    assert f"Wrong item: 4006381333931 is not on pick list {pick_list.pk}." in text
    assert ShipmentLine.objects.for_tenant(tenant_a).get(shipment=shipment).quantity_picked == 0


def test_a_unit_scanned_once_too_often_is_refused(picker, tenant_a, dallas, sku_b):
    stock(tenant_a, sku_b, dallas, 3)
    released(tenant_a, "W-1", [{"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"}])
    released(tenant_a, "W-2", SHOES_AND_SOCK)  # all from Dallas; the sock keeps the list open
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    for _ in range(3):
        scan(picker, pick_list, "SKU-123")
    page = scan(picker, pick_list, "SKU-123")
    assert "Already picked: every unit of SKU-123 on this list is picked." in html(page)
    assert 'role="alert"' in html(page)


def test_a_short_pick_reroutes_the_units_to_the_next_warehouse(picker, tenant_a, dallas, stocked, sku_a):
    _, los_angeles, _ = stocked
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    line = ShipmentLine.objects.for_tenant(tenant_a).get(shipment=shipment)
    page = picker.get(reverse("warehouse:pick_list", args=[dallas.pk, pick_list.pk]))
    assert f"Can't pick 2 for {shipment.number}?" in html(page)

    page = short(picker, pick_list, line, 2, "damaged")

    moved = Shipment.objects.for_tenant(tenant_a).get(order=shipment.order, warehouse=los_angeles)
    assert f"2 re-routed to W2 (shipment {moved.number})." in html(page)
    assert moved.state == ShipmentState.PENDING
    assert fresh(shipment).state == ShipmentState.CANCELLED  # nothing was left in it
    line.refresh_from_db()
    assert (line.quantity, line.quantity_short, line.short_reason) == (0, 2, "damaged")
    on_hand = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=dallas).on_hand
    assert on_hand == 8  # the damaged units are written off the shelf they were not on


def test_a_short_pick_with_nowhere_else_to_go_is_backordered(picker, tenant_a, dallas, stocked, sku_a):
    _, los_angeles, _ = stocked
    StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a, warehouse=los_angeles).update(on_hand=0)
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    line = ShipmentLine.objects.for_tenant(tenant_a).get(shipment=shipment)
    scan(picker, pick_list, "SKU-123")

    page = short(picker, pick_list, line, 1)

    assert "1 backordered." in html(page)
    line.refresh_from_db()
    assert (line.quantity, line.quantity_picked, line.quantity_short) == (1, 1, 1)
    assert page.context["units_short"] == 1


def test_a_short_pick_form_that_makes_no_sense_changes_nothing(picker, tenant_a, dallas):
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    line = ShipmentLine.objects.for_tenant(tenant_a).get(shipment=shipment)

    for quantity, reason, words in [
        (0, "not_found", "Missing: Ensure this value is greater than or equal to 1."),
        (1, "lost_in_space", "Why: Select a valid choice."),
        (3, "not_found", "Only 2 unit(s) of SKU-123 are still to pick on this line."),
    ]:
        page = short(picker, pick_list, line, quantity, reason)
        assert words in html(page)
    line.refresh_from_db()
    assert (line.quantity, line.quantity_short) == (2, 0)


def test_picked_then_packed_by_scan_then_weighed(
    picker, tenant_a, dallas, shippo_account_a, django_capture_on_commit_callbacks
):
    shipment = released(tenant_a, "W-1")[0]
    make_list(picker, dallas)
    pick_list = PickList.objects.for_tenant(tenant_a).get(warehouse=dallas)
    scan(picker, pick_list, "SKU-123")
    scan(picker, pick_list, "SKU-123")
    pack = reverse("warehouse:pack", args=[dallas.pk, shipment.pk])
    pack_scan = reverse("warehouse:pack_scan", args=[dallas.pk, shipment.pk])
    confirm = reverse("warehouse:pack_confirm", args=[dallas.pk, shipment.pk])
    parcel = {"weight_grams": 1500, "length_mm": 300, "width_mm": 200, "height_mm": 150}

    page = picker.post(pack_scan, {"code": "SKU-456"}, follow=True)
    assert f"Wrong item: SKU-456 is not in shipment {shipment.number}." in html(page)
    picker.post(pack_scan, {"code": "0012345678905"})
    page = picker.post(confirm, parcel, follow=True)
    assert "Not confirmed in the box: SKU-123. Scan every picked unit." in html(page)
    assert fresh(shipment).state == ShipmentState.PICKING

    page = picker.post(pack_scan, {"code": "0012345678905"}, follow=True)
    assert "SKU-123 is in the box." in html(page)
    assert "data-scan-form" not in html(page)  # everything is in the box
    page = picker.post(confirm, parcel, follow=True)

    assert f"{shipment.number} is packed." in html(page)
    shipment = fresh(shipment)
    assert shipment.state == ShipmentState.PACKED and len(shipment.rates) >= 3
    assert page.redirect_chain[-1][0] == pack
    assert "Buy label" in html(page)
