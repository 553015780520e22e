"""The allocation engine as a customer sees it: which warehouse ships, and why."""

from __future__ import annotations

import pytest

from inventory.allocation import (
    AllocationPolicy,
    DemandLine,
    ShipTo,
    allocation_apply,
    allocation_plan,
    allocation_release,
)
from inventory.errors import InventoryError
from inventory.models import StockLevel
from inventory.services import stock_receive
from inventory.signals import stock_became_available
from tests.inventory.conftest import AUSTIN
from tests.inventory.factories import stock

AUSTIN_TX = ShipTo(country="US", postal_code=AUSTIN)


def levels(tenant, sku):
    return {
        lv.warehouse.code: (lv.on_hand, lv.allocated)
        for lv in StockLevel.objects.for_tenant(tenant).filter(sku=sku).select_related("warehouse")
    }


def codes(plan, warehouses):
    by_id = {w.pk: w.code for w in warehouses}
    return [(p.key, by_id[p.warehouse_id], p.quantity) for p in plan.picks]


def test_two_units_come_from_the_nearest_warehouse_that_has_them(tenant_a, warehouses, sku_a):
    w1, w2, w3 = warehouses
    stock(tenant_a, sku_a, w1, 0)
    stock(tenant_a, sku_a, w2, 5)
    stock(tenant_a, sku_a, w3, 10)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX)

    assert plan.strategy == "single_nearest"
    assert codes(plan, warehouses) == [("line:1", "W3", 2)]
    assert plan.backorders == {"line:1": 0}
    assert "W3" in plan.explanation and "km" in plan.explanation
    assert levels(tenant_a, sku_a) == {"W1": (0, 0), "W2": (5, 0), "W3": (10, 2)}


def test_when_the_nearest_is_empty_the_next_nearest_ships(tenant_a, warehouses, sku_a):
    w1, w2, w3 = warehouses
    stock(tenant_a, sku_a, w1, 0)
    stock(tenant_a, sku_a, w2, 5)
    stock(tenant_a, sku_a, w3, 0)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX)

    assert plan.strategy == "single_nearest"
    assert codes(plan, warehouses) == [("line:1", "W2", 2)]
    assert levels(tenant_a, sku_a)["W2"] == (5, 2)


def test_lines_stocked_in_different_warehouses_split_into_two_shipments(tenant_a, warehouses, sku_a, sku_b):
    w1, _w2, w3 = warehouses
    stock(tenant_a, sku_a, w1, 4)
    stock(tenant_a, sku_b, w3, 4)

    plan = allocation_apply(
        tenant=tenant_a,
        lines=[DemandLine("line:1", sku_a.pk, 2), DemandLine("line:2", sku_b.pk, 1)],
        ship_to=AUSTIN_TX,
    )

    assert plan.strategy == "split"
    assert sorted(codes(plan, warehouses)) == [("line:1", "W1", 2), ("line:2", "W3", 1)]
    assert plan.is_complete
    assert levels(tenant_a, sku_a) == {"W1": (4, 2)}
    assert levels(tenant_a, sku_b) == {"W3": (4, 1)}


def test_nothing_anywhere_is_backordered_and_a_receipt_announces_the_sku(
    tenant_a, warehouses, sku_a, django_capture_on_commit_callbacks
):
    _w1, w2, _w3 = warehouses
    for wh in warehouses:
        stock(tenant_a, sku_a, wh, 0)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX)

    assert plan.strategy == "backorder"
    assert plan.picks == []
    assert plan.backorders == {"line:1": 2}
    assert levels(tenant_a, sku_a) == {"W1": (0, 0), "W2": (0, 0), "W3": (0, 0)}

    received = []

    def listener(sender, tenant_id, sku_ids, **kwargs):
        received.append((tenant_id, sku_ids))

    stock_became_available.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            stock_receive(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=w2.pk, quantity=3, reference="PO-1")
    finally:
        stock_became_available.disconnect(listener)
    assert received == [(tenant_a.pk, [sku_a.pk])]


def test_partial_stock_is_allocated_and_the_rest_backordered(tenant_a, warehouses, sku_a):
    _w1, w2, w3 = warehouses
    stock(tenant_a, sku_a, w2, 1)
    stock(tenant_a, sku_a, w3, 1)

    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 5)], ship_to=AUSTIN_TX)

    assert plan.strategy == "partial_backorder"
    assert sorted(codes(plan, warehouses)) == [("line:1", "W2", 1), ("line:1", "W3", 1)]
    assert plan.backorders == {"line:1": 3}
    assert plan.as_dict()["complete"] is False


def test_backorders_off_refuses_and_changes_nothing(tenant_a, warehouses, sku_a):
    _w1, w2, _w3 = warehouses
    stock(tenant_a, sku_a, w2, 1)
    policy = AllocationPolicy(allow_backorder=False)

    with pytest.raises(InventoryError) as error:
        allocation_apply(
            tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX, policy=policy
        )

    assert error.value.code == "insufficient_stock"
    assert error.value.status == 422
    assert levels(tenant_a, sku_a) == {"W2": (1, 0)}


def test_splits_off_ships_from_one_warehouse_and_backorders_the_rest(tenant_a, warehouses, sku_a, sku_b):
    w1, _w2, w3 = warehouses
    stock(tenant_a, sku_a, w1, 4)
    stock(tenant_a, sku_b, w3, 4)
    policy = AllocationPolicy(allow_split=False)

    plan = allocation_apply(
        tenant=tenant_a,
        lines=[DemandLine("line:1", sku_a.pk, 2), DemandLine("line:2", sku_b.pk, 3)],
        ship_to=AUSTIN_TX,
        policy=policy,
    )

    assert plan.strategy == "partial_backorder"
    assert codes(plan, warehouses) == [("line:2", "W3", 3)]  # covers more units
    assert plan.backorders == {"line:1": 2, "line:2": 0}
    assert "Split shipments are off" in plan.explanation


def test_inactive_and_non_shipping_warehouses_are_not_candidates(tenant_a, warehouses, sku_a):
    _w1, w2, w3 = warehouses
    w3.active = False
    w3.save()
    w2.ships_to = ["CA"]
    w2.save()
    for wh in warehouses:
        stock(tenant_a, sku_a, wh, 5)

    plan = allocation_plan(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    assert codes(plan, warehouses) == [("line:1", "W1", 1)]
    assert "W3: not a candidate (inactive)" in plan.explanation
    assert "W2: not a candidate (does not ship to US)" in plan.explanation


def test_preview_changes_nothing(tenant_a, warehouses, sku_a):
    stock(tenant_a, sku_a, warehouses[2], 5)

    plan = allocation_plan(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX)

    assert plan.strategy == "single_nearest"
    assert levels(tenant_a, sku_a) == {"W3": (5, 0)}


def test_release_gives_units_back_and_announces_them(
    tenant_a, warehouses, sku_a, django_capture_on_commit_callbacks
):
    stock(tenant_a, sku_a, warehouses[2], 5)
    plan = allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 2)], ship_to=AUSTIN_TX)
    received = []

    def listener(sender, tenant_id, sku_ids, **kwargs):
        received.append(sku_ids)

    stock_became_available.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            allocation_release(tenant=tenant_a, picks=[(p.stock_level_id, p.quantity) for p in plan.picks])
    finally:
        stock_became_available.disconnect(listener)

    assert levels(tenant_a, sku_a) == {"W3": (5, 0)}
    assert received == [[sku_a.pk]]


def test_release_of_more_than_allocated_is_refused_and_changes_nothing(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[2], 5)
    allocation_apply(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    with pytest.raises(InventoryError) as error:
        allocation_release(tenant=tenant_a, picks=[(level.pk, 2)])

    assert error.value.code == "not_allocated"
    assert levels(tenant_a, sku_a) == {"W3": (5, 1)}


def test_another_tenants_stock_is_never_a_candidate(tenant_a, tenant_b, warehouses, sku_a):
    from tests.inventory.factories import SKUFactory, WarehouseFactory

    other_wh = WarehouseFactory(tenant=tenant_b, code="B1", postal_code="78701")
    stock(tenant_b, SKUFactory(tenant=tenant_b, code="SKU-123"), other_wh, 50)

    plan = allocation_plan(tenant=tenant_a, lines=[DemandLine("line:1", sku_a.pk, 1)], ship_to=AUSTIN_TX)

    assert plan.strategy == "backorder"
    assert "B1" not in plan.explanation
