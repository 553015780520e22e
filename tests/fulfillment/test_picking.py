"""Pick lists, scans and short picks, as the warehouse floor meets them."""

from __future__ import annotations

import datetime as dt

import pytest

from fulfillment.errors import FulfillmentConflict, FulfillmentError
from fulfillment.models import FulfillmentSettings, PickList, Shipment, ShipmentLine
from fulfillment.selectors import pick_list_sheet
from fulfillment.services import pick_list_create, pick_scan, pick_short
from fulfillment.tasks import pick_lists_auto_create_task
from inventory.models import StockLevel, StockMovement, Warehouse
from orders.models import Allocation, OrderLine
from tests.fulfillment.floor import SHOES_AND_SOCK, fresh, level, lines_of, released
from tests.inventory.factories import SKUFactory, stock


def _shoes_list(tenant, w3, *, orders=1, kind="batch"):
    """`orders` orders of 2 x SKU-123 released to Dallas (W3), on one list."""
    shipments = [released(tenant, f"P-{n}")[0] for n in range(orders)]
    assert {s.warehouse_id for s in shipments} == {w3.pk}
    return pick_list_create(tenant=tenant, warehouse_id=w3.pk, kind=kind, actor="test"), shipments


# --- making lists ------------------------------------------------------------------------------
def test_a_list_gathers_one_warehouses_pending_shipments_and_starts_picking(tenant_a, stocked):
    w1, _, w3 = stocked
    dallas = [released(tenant_a, f"D-{n}")[0] for n in range(3)]
    split = {s.warehouse_id: s for s in released(tenant_a, "SPLIT", SHOES_AND_SOCK)}

    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, actor="test")

    on_it = set(
        Shipment.objects.for_tenant(tenant_a).filter(pick_list=pick_list).values_list("pk", flat=True)
    )
    assert on_it == {s.pk for s in dallas} | {split[w3.pk].pk}
    assert {fresh(s).state for s in dallas} == {"picking"}
    assert fresh(split[w1.pk]).state == "pending" and fresh(split[w1.pk]).pick_list_id is None
    assert (pick_list.warehouse_id, pick_list.state, pick_list.kind) == (w3.pk, "open", "batch")
    # nothing left to gather
    with pytest.raises(FulfillmentConflict) as caught:
        pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
    assert caught.value.code == "no_shipments"


def test_filters_and_limit_choose_the_shipments(tenant_a, stocked):
    _, _, w3 = stocked
    made = [released(tenant_a, f"F-{n}")[0] for n in range(4)]
    Shipment.objects.for_tenant(tenant_a).filter(pk=made[0].pk).update(service_level="express")
    Shipment.objects.for_tenant(tenant_a).filter(pk=made[1].pk).update(promised_date=dt.date(2030, 1, 1))
    Shipment.objects.for_tenant(tenant_a).filter(pk=made[2].pk).update(promised_date=dt.date(2030, 3, 1))

    express = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, service_level="express")
    assert list(express.shipments.values_list("pk", flat=True)) == [made[0].pk]
    soon = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, promised_before=dt.date(2030, 2, 1))
    assert list(soon.shipments.values_list("pk", flat=True)) == [made[1].pk]
    assert fresh(soon).filters == {"promised_before": "2030-02-01"}
    one = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, limit=1)
    assert list(one.shipments.values_list("pk", flat=True)) == [made[2].pk]  # earliest promise first
    assert fresh(made[3]).state == "pending"


def test_chosen_shipments_must_be_of_the_lists_warehouse(tenant_a, tenant_b, stocked):
    w1, _, w3 = stocked
    split = {s.warehouse_id: s for s in released(tenant_a, "SPLIT", SHOES_AND_SOCK)}
    with pytest.raises(FulfillmentError) as caught:
        pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, shipment_ids=[split[w1.pk].pk, split[w3.pk].pk])
    assert caught.value.code == "wrong_warehouse"
    assert not PickList.objects.for_tenant(tenant_a).exists()
    made = pick_list_create(
        tenant=tenant_a, warehouse_id=w3.pk, shipment_ids=[split[w3.pk].pk], kind="single"
    )
    assert made.kind == "single" and fresh(split[w3.pk]).pick_list_id == made.pk
    # another tenant's warehouse and shipments do not exist for tenant B
    with pytest.raises(Warehouse.DoesNotExist):
        pick_list_create(tenant=tenant_b, warehouse_id=w1.pk)
    other = Warehouse.objects.create(tenant=tenant_b, code="GX", name="Globex")
    with pytest.raises(Shipment.DoesNotExist):
        pick_list_create(tenant=tenant_b, warehouse_id=other.pk, shipment_ids=[split[w1.pk].pk])
    assert fresh(split[w1.pk]).state == "pending"


def test_beat_makes_lists_for_tenants_that_want_them(tenant_a, tenant_b, stocked):
    made = [released(tenant_a, f"A-{n}")[0] for n in range(5)]
    assert pick_lists_auto_create_task() == 0  # off by default
    FulfillmentSettings.objects.create(tenant=tenant_a, auto_pick_lists=True, pick_list_size=2)
    assert pick_lists_auto_create_task() == 3
    lists = list(PickList.objects.for_tenant(tenant_a).order_by("pk"))
    assert [pl.shipments.count() for pl in lists] == [2, 2, 1]
    assert {pl.created_by for pl in lists} == {"system:auto-pick-lists"}
    assert {fresh(s).state for s in made} == {"picking"}
    assert pick_lists_auto_create_task() == 0
    assert not PickList.objects.for_tenant(tenant_b).exists()


# --- the sheet --------------------------------------------------------------------------------
def _bins(tenant, w3):
    """Three SKUs in Dallas: SKU-123 in bin B-2, SOCK-RED in A-1, CAP with no bin."""
    red = SKUFactory(tenant=tenant, code="SOCK-RED", name="Red sock", barcode="0001112223334")
    cap = SKUFactory(tenant=tenant, code="CAP", name="Cap")
    stock(tenant, red, w3, 40)
    stock(tenant, cap, w3, 40)
    stock(tenant, SKUFactory._meta.model.objects.for_tenant(tenant).get(code="SKU-123"), w3, 20)
    for code, bin_location in (("SKU-123", "B-2"), ("SOCK-RED", "A-1"), ("CAP", "")):
        StockLevel.objects.for_tenant(tenant).filter(sku__code=code, warehouse=w3).update(
            bin_location=bin_location
        )
    return red, cap


def _mixed(n):
    return [
        {"sku": "CAP", "quantity": 1, "unit_price": "5.00"},
        {"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"},
        {"sku": "SOCK-RED", "quantity": n, "unit_price": "3.00"},
    ]


def test_the_sheet_walks_the_bins_in_order_with_empty_bins_last(tenant_a, stocked):
    _, _, w3 = stocked
    _bins(tenant_a, w3)
    first = released(tenant_a, "M-1", _mixed(1))[0]
    second = released(tenant_a, "M-2", _mixed(2))[0]
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)

    sheet = pick_list_sheet(tenant=tenant_a, pick_list_id=pick_list.pk)

    assert [(s.bin_location, s.sku_code, s.quantity) for s in sheet.rows] == [
        ("A-1", "SOCK-RED", 3),
        ("B-2", "SKU-123", 2),
        ("", "CAP", 2),
    ]
    red = sheet.stops[0]
    assert [(x.shipment_number, x.order_number, x.quantity) for x in red.lines] == [
        (first.number, first.order.number, 1),
        (second.number, second.order.number, 2),
    ]
    assert red.barcode == "0001112223334"
    assert [o.shipment_number for o in sheet.orders] == [first.number, second.number]
    assert [s.sku_code for s in sheet.orders[0].stops] == ["SOCK-RED", "SKU-123", "CAP"]


def test_a_single_order_list_renders_per_shipment(tenant_a, stocked):
    _, _, w3 = stocked
    pick_list, shipments = _shoes_list(tenant_a, w3, orders=2, kind="single")
    sheet = pick_list_sheet(tenant=tenant_a, pick_list_id=pick_list.pk)
    assert [(o.shipment_number, [s.sku_code for s in o.stops]) for o in sheet.rows] == [
        (shipments[0].number, ["SKU-123"]),
        (shipments[1].number, ["SKU-123"]),
    ]


@pytest.mark.parametrize("orders", [1, 12])
def test_the_sheet_costs_two_queries_whatever_the_number_of_orders(
    tenant_a, stocked, django_assert_num_queries, orders
):
    _, _, w3 = stocked
    _bins(tenant_a, w3)
    for n in range(orders):
        released(tenant_a, f"Q-{n}", _mixed(1))
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
    with django_assert_num_queries(2):
        sheet = pick_list_sheet(tenant=tenant_a, pick_list_id=pick_list.pk)
        assert sum(stop.quantity for stop in sheet.stops) == 3 * orders
        assert len({line.order_number for stop in sheet.stops for line in stop.lines}) == orders


def test_another_tenants_list_is_not_found(tenant_a, tenant_b, stocked):
    _, _, w3 = stocked
    pick_list, _ = _shoes_list(tenant_a, w3)
    with pytest.raises(PickList.DoesNotExist):
        pick_list_sheet(tenant=tenant_b, pick_list_id=pick_list.pk)
    with pytest.raises(PickList.DoesNotExist):
        pick_scan(tenant=tenant_b, pick_list_id=pick_list.pk, code="SKU-123")
    assert ShipmentLine.objects.for_tenant(tenant_a).filter(quantity_picked__gt=0).count() == 0


# --- scans ---------------------------------------------------------------------------------------
def test_a_scan_confirms_one_unit_of_the_first_unpicked_line(tenant_a, stocked):
    _, _, w3 = stocked
    pick_list, shipments = _shoes_list(tenant_a, w3, orders=2)

    result = pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123", actor="test")

    assert (result.sku.code, result.shipment.number, result.quantity) == ("SKU-123", shipments[0].number, 1)
    assert (result.sku_remaining, result.list_remaining, result.list_done) == (3, 3, False)
    assert [line.quantity_picked for line in ShipmentLine.objects.for_tenant(tenant_a).order_by("pk")] == [
        1,
        0,
    ]


def test_a_barcode_scans_like_the_code_and_a_typed_count_spans_lines(tenant_a, stocked):
    _, _, w3 = stocked
    SKUFactory._meta.model.objects.for_tenant(tenant_a).filter(code="SKU-123").update(barcode="0888")
    pick_list, shipments = _shoes_list(tenant_a, w3, orders=2)
    result = pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code=" 0888 ", quantity=3)
    assert [(c.shipment_number, c.quantity) for c in result.confirmed] == [
        (shipments[0].number, 2),
        (shipments[1].number, 1),
    ]
    assert result.sku_remaining == 1


def test_a_wrong_item_is_refused_loudly_and_changes_nothing(tenant_a, stocked, sku_b):
    _, _, w3 = stocked
    pick_list, _ = _shoes_list(tenant_a, w3)
    for code in ("SKU-456", "NOPE", ""):
        with pytest.raises(FulfillmentError) as caught:
            pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code=code)
        assert caught.value.code == "wrong_item"
        assert "Wrong item" in caught.value.message
    assert ShipmentLine.objects.for_tenant(tenant_a).get().quantity_picked == 0


def test_picking_more_than_the_list_wants_is_refused(tenant_a, stocked):
    _, _, w3 = stocked
    pick_list, _ = _shoes_list(tenant_a, w3)
    with pytest.raises(FulfillmentError) as caught:
        pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123", quantity=3)
    assert (caught.value.code, caught.value.extra["remaining"]) == ("too_many", 2)
    with pytest.raises(FulfillmentError):
        pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123", quantity=0)
    assert ShipmentLine.objects.for_tenant(tenant_a).get().quantity_picked == 0


def test_the_last_scan_completes_the_list_and_a_further_one_is_refused(tenant_a, stocked):
    _, _, w3 = stocked
    pick_list, shipments = _shoes_list(tenant_a, w3)
    pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123")
    last = pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123")
    assert (last.list_remaining, last.list_done) == (0, True)
    assert fresh(pick_list).state == "done" and fresh(pick_list).completed_at is not None
    assert fresh(shipments[0]).state == "picking"  # packing moves it on
    with pytest.raises(FulfillmentConflict) as caught:
        pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123")
    assert caught.value.code == "pick_list_closed"


def test_a_fully_picked_sku_is_already_picked(tenant_a, stocked, sku_b):
    _, _, w3 = stocked
    released(tenant_a, "A", SHOES_AND_SOCK)
    released(tenant_a, "B")
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
    pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123", quantity=4)
    assert fresh(pick_list).state == "done"
    # a list still open with SKU-123 done and another SKU waiting
    stock(tenant_a, sku_b, w3, 3)
    released(tenant_a, "C", [{"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"}])
    released(tenant_a, "D", [{"sku": "SKU-456", "quantity": 1, "unit_price": "1.00"}])
    second = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
    pick_scan(tenant=tenant_a, pick_list_id=second.pk, code="SKU-123")
    with pytest.raises(FulfillmentConflict) as caught:
        pick_scan(tenant=tenant_a, pick_list_id=second.pk, code="SKU-123")
    assert caught.value.code == "already_picked"
    assert fresh(second).state == "open"


# --- short picks --------------------------------------------------------------------------------
def test_a_short_pick_corrects_the_stock_and_reroutes_to_the_next_warehouse(tenant_a, stocked, sku_a):
    _, w2, w3 = stocked
    pick_list, [shipment] = _shoes_list(tenant_a, w3)
    line = shipment.lines.get()
    dallas_before, la_before = level(tenant_a, sku_a, w3), level(tenant_a, sku_a, w2)

    result = pick_short(
        tenant=tenant_a, shipment_line_id=line.pk, quantity=1, reason="not_found", actor="test"
    )

    line = fresh(line)
    assert (line.quantity, line.quantity_short, line.short_reason) == (1, 1, "not_found")
    assert level(tenant_a, sku_a, w3) == (dallas_before[0] - 1, dallas_before[1] - 1)
    movement = StockMovement.objects.for_tenant(tenant_a).filter(warehouse=w3, reason="adjustment").get()
    assert movement.delta == -1 and f"shipment:{shipment.pk}" in movement.reference
    assert level(tenant_a, sku_a, w2) == (la_before[0], la_before[1] + 1)
    [go] = result.rerouted
    new = Shipment.objects.for_tenant(tenant_a).get(pk=go.shipment_id)
    assert (new.warehouse_id, new.state, lines_of(new)) == (w2.pk, "pending", [("SKU-123", 1)])
    assert (go.warehouse_code, result.backordered, result.shipment_cancelled) == ("W2", 0, False)
    assert "re-routed to W2" in str(result)
    assert fresh(shipment.order).state == "in_fulfillment"
    assert sorted(
        Allocation.objects.for_tenant(tenant_a)
        .filter(order_line_id=line.order_line_id)
        .values_list("warehouse__code", "quantity")
    ) == [("W2", 1), ("W3", 1)]
    assert fresh(pick_list).state == "open"  # one unit still to pick


def test_a_damaged_unit_nobody_else_has_is_backordered_and_the_empty_shipment_cancelled(
    tenant_a, stocked, sku_b
):
    w1, _, _ = stocked
    [shipment] = released(tenant_a, "SOCK", [{"sku": "SKU-456", "quantity": 1, "unit_price": "9.00"}])
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w1.pk)

    result = pick_short(
        tenant=tenant_a, shipment_line_id=shipment.lines.get().pk, quantity=1, reason="damaged"
    )

    assert (result.rerouted, result.backordered, result.shipment_cancelled) == ([], 1, True)
    assert "1 backordered" in str(result)
    assert level(tenant_a, sku_b, w1) == (3, 0)
    assert StockMovement.objects.for_tenant(tenant_a).filter(reason="damage", delta=-1).count() == 1
    assert fresh(shipment).state == "cancelled"
    assert fresh(pick_list).state == "cancelled"
    order = fresh(shipment.order)
    assert order.state == "backordered"
    assert OrderLine.objects.for_tenant(tenant_a).get(order=order).quantity_backordered == 1


def test_a_short_pick_is_refused_for_bad_input_and_changes_nothing(tenant_a, tenant_b, stocked, sku_a):
    _, _, w3 = stocked
    _, [shipment] = _shoes_list(tenant_a, w3)
    line = shipment.lines.get()
    before = level(tenant_a, sku_a, w3)
    for kwargs, code in (
        ({"quantity": 1, "reason": "lost"}, "invalid_reason"),
        ({"quantity": 3, "reason": "damaged"}, "too_many"),
        ({"quantity": -1, "reason": "damaged"}, "invalid_quantity"),
    ):
        with pytest.raises(FulfillmentError) as caught:
            pick_short(tenant=tenant_a, shipment_line_id=line.pk, **kwargs)
        assert caught.value.code == code
    with pytest.raises(ShipmentLine.DoesNotExist):
        pick_short(tenant=tenant_b, shipment_line_id=line.pk, quantity=1, reason="damaged")
    assert level(tenant_a, sku_a, w3) == before
    assert (fresh(line).quantity, fresh(line).quantity_short) == (2, 0)
    assert Shipment.objects.for_tenant(tenant_a).count() == 1


def test_an_ean13_with_a_leading_zero_scans_as_the_upc_a_a_scanner_reports(tenant_a, stocked):
    _, _, w3 = stocked
    SKUFactory._meta.model.objects.for_tenant(tenant_a).filter(code="SKU-123").update(barcode="0012345678905")
    pick_list, _ = _shoes_list(tenant_a, w3)
    result = pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="012345678905")
    assert result.sku.code == "SKU-123" and result.quantity == 1
    with pytest.raises(FulfillmentError) as caught:  # another number is still another item
        pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="012345678906")
    assert caught.value.code == "wrong_item"
