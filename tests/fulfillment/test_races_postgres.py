"""Warehouse-floor writers side by side on PostgreSQL: real threads, each with its own connection.

Two scanners on one line, two workers shipping one shipment, a ship racing a cancel, a release
racing the order's cancel, a short pick racing a scan, two lists made at once. Each ends in one
consistent outcome: no unit picked twice, no stock moved twice, no shipment on two lists, no open
shipment of a cancelled order. Run with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_<name> pytest tests/fulfillment.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from fulfillment.models import FulfillmentSettings, PickList, Shipment, ShipmentLine
from fulfillment.services import (
    order_release_to_warehouse,
    pick_list_create,
    pick_scan,
    pick_short,
    shipment_cancel,
    shipment_ship,
)
from inventory.models import StockLevel, StockMovement
from oms.core.errors import DomainError
from orders.models import Allocation, Order
from orders.services import order_cancel
from tests.fulfillment.floor import fresh, place, released

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(index):
        try:
            barrier.wait(timeout=30)
            results.append(target(index))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.fixture
def manual_release(tenant_a):
    """Orders wait for staff: the tests release them themselves."""
    return FulfillmentSettings.objects.create(tenant=tenant_a, auto_release=False)


@pytest.fixture
def no_effects(monkeypatch):
    monkeypatch.setattr("fulfillment.effects.shipment_shipped", lambda shipment, **kw: None)


def _codes(errors):
    return sorted(getattr(e, "code", repr(e)) for e in errors)


def test_six_scanners_on_three_units_confirm_each_unit_once(tenant_a, stocked, manual_release):
    _, _, w3 = stocked
    released(tenant_a, "S-1", [{"sku": "SKU-123", "quantity": 2, "unit_price": "1.00"}])
    released(tenant_a, "S-2", [{"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"}])
    pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)

    results, errors = _run_threads(
        6, lambda i: pick_scan(tenant=tenant_a, pick_list_id=pick_list.pk, code="SKU-123")
    )

    assert len(results) == 3
    # the losers are told the SKU is done (or, once the last unit closed the list, that it is closed)
    assert set(_codes(errors)) <= {"already_picked", "pick_list_closed"} and len(errors) == 3
    lines = ShipmentLine.objects.for_tenant(tenant_a).order_by("pk")
    assert [(line.quantity, line.quantity_picked) for line in lines] == [(2, 2), (1, 1)]
    assert fresh(pick_list).state == "done"


def test_two_workers_shipping_one_shipment_move_its_stock_once(
    tenant_a, stocked, sku_a, manual_release, no_effects
):
    _, _, w3 = stocked
    for attempt in range(4):
        [shipment] = released(tenant_a, f"SHIP-{attempt}")
        before = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=w3).on_hand

        results, errors = _run_threads(
            2,
            lambda i, pk=shipment.pk: shipment_ship(
                tenant=tenant_a, shipment_id=pk, carrier="UPS", tracking_number=f"1Z-{i}"
            ),
        )

        assert errors == []
        assert {r.state for r in results} == {"shipped"}
        shipment = fresh(shipment)
        assert shipment.tracking_number in {"1Z-0", "1Z-1"}
        moved = StockMovement.objects.for_tenant(tenant_a).filter(reference=f"shipment:{shipment.pk}")
        assert [m.delta for m in moved] == [-2]
        assert StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=w3).on_hand == before - 2
        assert fresh(shipment.order).state == "shipped"


def test_a_ship_racing_a_cancel_ends_one_way_or_the_other(
    tenant_a, stocked, sku_a, manual_release, no_effects
):
    _, _, w3 = stocked
    for attempt in range(5):
        [shipment] = released(tenant_a, f"RACE-{attempt}")

        def act(index, pk=shipment.pk):
            if index:
                return shipment_cancel(tenant=tenant_a, shipment_id=pk, reason="race").state
            return shipment_ship(tenant=tenant_a, shipment_id=pk, carrier="UPS").state

        _, errors = _run_threads(2, act)
        shipment = fresh(shipment)
        order = fresh(shipment.order)
        moved = StockMovement.objects.for_tenant(tenant_a).filter(reference=f"shipment:{shipment.pk}").count()
        if shipment.state == "shipped":
            assert _codes(errors) == ["not_cancellable"]
            assert (order.state, moved) == ("shipped", 1)
        else:
            assert shipment.state == "cancelled"
            assert _codes(errors) == ["not_shippable"]
            assert (order.state, moved) == ("allocated", 0)
            assert Allocation.objects.for_tenant(tenant_a).get(order_line__order=order).quantity == 2
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a, warehouse=w3)
    assert level.allocated == (Allocation.objects.for_tenant(tenant_a).aggregate(n=Sum("quantity"))["n"] or 0)


def test_a_release_racing_the_orders_cancel_leaves_no_open_shipment(tenant_a, stocked, sku_a, manual_release):
    for attempt in range(6):
        order = place(tenant_a, f"REL-{attempt}")

        def act(index, pk=order.pk):
            if index:
                return order_cancel(tenant=tenant_a, order_id=pk, reason="race").state
            return order_release_to_warehouse(tenant=tenant_a, order_id=pk)

        _, errors = _run_threads(2, act)
        assert _codes(errors) in ([], ["not_releasable"])
        assert fresh(order).state == "cancelled"
        assert (
            not Shipment.objects.for_tenant(tenant_a).filter(order=order).exclude(state="cancelled").exists()
        )
        assert not Allocation.objects.for_tenant(tenant_a).filter(order_line__order=order).exists()
    assert StockLevel.objects.for_tenant(tenant_a).filter(allocated__gt=0).count() == 0
    assert Order.objects.for_tenant(tenant_a).exclude(state="cancelled").count() == 0


def test_a_short_pick_racing_scans_of_the_same_line_never_over_picks(
    tenant_a, stocked, sku_a, manual_release
):
    _, _, w3 = stocked
    for attempt in range(3):
        [shipment] = released(
            tenant_a, f"SHORT-{attempt}", [{"sku": "SKU-123", "quantity": 2, "unit_price": "1.00"}]
        )
        pick_list = pick_list_create(tenant=tenant_a, warehouse_id=w3.pk)
        line = shipment.lines.get()

        def act(index, line_id=line.pk, list_id=pick_list.pk):
            if index == 0:
                return pick_short(tenant=tenant_a, shipment_line_id=line_id, quantity=1, reason="not_found")
            return pick_scan(tenant=tenant_a, pick_list_id=list_id, code="SKU-123")

        _, errors = _run_threads(3, act)
        line = fresh(line)
        assert line.quantity_picked <= line.quantity
        assert line.quantity + line.quantity_short == 2
        # whoever came last found nothing left to take
        assert set(_codes(errors)) <= {"already_picked", "pick_list_closed", "too_many"}
        total_allocated = (
            Allocation.objects.for_tenant(tenant_a)
            .filter(order_line_id=line.order_line_id)
            .aggregate(n=Sum("quantity"))["n"]
        )
        assert total_allocated == 2  # every unit still promised somewhere (W3 or re-routed)
    for level in StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a):
        assert level.on_hand >= level.allocated


def test_two_lists_made_at_once_never_share_a_shipment(tenant_a, stocked, manual_release):
    _, _, w3 = stocked
    shipments = [released(tenant_a, f"L-{n}")[0] for n in range(4)]

    results, errors = _run_threads(
        3, lambda i: pick_list_create(tenant=tenant_a, warehouse_id=w3.pk, limit=2)
    )

    assert all(isinstance(e, DomainError) and e.code == "no_shipments" for e in errors), errors
    lists = PickList.objects.for_tenant(tenant_a)
    on_lists = [pk for pl in lists for pk in pl.shipments.values_list("pk", flat=True)]
    assert sorted(on_lists) == sorted(s.pk for s in shipments)  # each once
    assert {fresh(s).state for s in shipments} == {"picking"}
    assert len(results) == lists.count()
