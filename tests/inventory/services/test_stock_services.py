"""Stock writes: every on_hand change is a ledger row; rules refuse and change nothing."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from inventory.errors import InventoryError
from inventory.models import StockLevel, StockMovement
from inventory.services import (
    stock_adjust,
    stock_count,
    stock_receive,
    stock_restock,
    stock_ship,
    stock_transfer,
    warehouse_create,
)
from inventory.signals import stock_became_available
from oms.models import AuditEvent
from tests.inventory.factories import stock


@pytest.fixture
def announced():
    received = []

    def listener(sender, tenant_id, sku_ids, **kwargs):
        received.append(sku_ids)

    stock_became_available.connect(listener)
    yield received
    stock_became_available.disconnect(listener)


def ledger(tenant, level):
    return [
        (m.reason, m.delta, m.on_hand_after)
        for m in StockMovement.objects.for_tenant(tenant).filter(stock_level=level).order_by("id")
    ]


def ledger_sum(tenant, level):
    return (
        StockMovement.objects.for_tenant(tenant).filter(stock_level=level).aggregate(s=Sum("delta"))["s"] or 0
    )


def test_receive_adjust_count_and_damage_are_all_in_the_ledger(
    tenant_a, owner_a, warehouses, sku_a, announced, django_capture_on_commit_callbacks
):
    wh = warehouses[0]
    with django_capture_on_commit_callbacks(execute=True):
        level = stock_receive(
            tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=wh.pk, quantity=10, reference="PO-7"
        )
        stock_adjust(
            tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=wh.pk, delta=-2, reason="damage", actor=owner_a
        )
        stock_adjust(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=wh.pk, on_hand=12, actor=owner_a)
        stock_count(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=wh.pk, counted=11, actor=owner_a)

    level.refresh_from_db()
    assert level.on_hand == 11
    assert ledger(tenant_a, level) == [
        ("receipt", 10, 10),
        ("damage", -2, 8),
        ("adjustment", 4, 12),
        ("count", -1, 11),
    ]
    assert ledger_sum(tenant_a, level) == level.on_hand
    actions = set(AuditEvent.objects.for_tenant(tenant_a).values_list("action", flat=True))
    assert {"stock.damage", "stock.adjustment", "stock.count"} <= actions
    assert announced == [[sku_a.pk], [sku_a.pk]]  # the receipt and the positive adjustment


def test_adjustment_below_committed_is_refused_and_changes_nothing(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[0], 5)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(allocated=3, reserved=1)

    with pytest.raises(InventoryError) as error:
        stock_adjust(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, delta=-2)

    assert error.value.code == "below_committed"
    assert error.value.status == 422
    level.refresh_from_db()
    assert level.on_hand == 5
    assert len(ledger(tenant_a, level)) == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"delta": 3, "reason": "damage"}, "invalid_adjustment"),
        ({"delta": -1, "reason": "receipt"}, "invalid_adjustment"),
        ({"delta": 1, "on_hand": 2}, "invalid_adjustment"),
        ({"delta": 1, "reason": "shipment"}, "invalid_adjustment"),
        ({"on_hand": -1}, "invalid_quantity"),
    ],
)
def test_invalid_adjustments_are_refused(tenant_a, warehouses, sku_a, kwargs, code):
    level = stock(tenant_a, sku_a, warehouses[0], 5)
    with pytest.raises(InventoryError) as error:
        stock_adjust(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[0].pk, **kwargs)
    assert error.value.code == code
    level.refresh_from_db()
    assert level.on_hand == 5


def test_transfer_writes_out_and_in(
    tenant_a, warehouses, sku_a, announced, django_capture_on_commit_callbacks
):
    w1, w2, _ = warehouses
    source = stock(tenant_a, sku_a, w1, 8)

    with django_capture_on_commit_callbacks(execute=True):
        _, dest = stock_transfer(
            tenant=tenant_a, sku_id=sku_a.pk, from_warehouse_id=w1.pk, to_warehouse_id=w2.pk, quantity=3
        )

    source.refresh_from_db()
    assert (source.on_hand, dest.on_hand) == (5, 3)
    assert ledger(tenant_a, source)[-1] == ("transfer_out", -3, 5)
    assert ledger(tenant_a, dest) == [("transfer_in", 3, 3)]
    assert announced[-1] == [sku_a.pk]


def test_transfer_of_more_than_available_is_refused(tenant_a, warehouses, sku_a):
    w1, w2, _ = warehouses
    source = stock(tenant_a, sku_a, w1, 2)
    with pytest.raises(InventoryError) as error:
        stock_transfer(
            tenant=tenant_a, sku_id=sku_a.pk, from_warehouse_id=w1.pk, to_warehouse_id=w2.pk, quantity=3
        )
    assert error.value.code == "insufficient_stock"
    source.refresh_from_db()
    assert source.on_hand == 2
    assert not StockLevel.objects.for_tenant(tenant_a).filter(warehouse=w2, on_hand__gt=0).exists()


def test_ship_takes_on_hand_and_allocated_down_together(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[0], 5)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(allocated=3)

    stock_ship(tenant=tenant_a, picks=[(level.pk, 2)], reference="shipment:9")

    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (3, 1)
    assert ledger(tenant_a, level)[-1] == ("shipment", -2, 3)

    with pytest.raises(InventoryError) as error:
        stock_ship(tenant=tenant_a, picks=[(level.pk, 2)])
    assert error.value.code == "not_allocated"
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (3, 1)


def test_restock_puts_returns_back(
    tenant_a, warehouses, sku_a, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        level = stock_restock(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[1].pk, quantity=1)
    assert ledger(tenant_a, level) == [("return_restock", 1, 1)]
    assert announced == [[sku_a.pk]]


def test_another_tenants_sku_cannot_be_stocked(tenant_a, tenant_b, warehouses):
    from tests.inventory.factories import SKUFactory

    foreign = SKUFactory(tenant=tenant_b)
    with pytest.raises(foreign.DoesNotExist):
        stock_receive(tenant=tenant_a, sku_id=foreign.pk, warehouse_id=warehouses[0].pk, quantity=1)
    assert not StockLevel.objects.for_tenant(tenant_a).exists()


def test_warehouse_gets_coordinates_from_its_zip(tenant_a):
    wh = warehouse_create(tenant=tenant_a, code="ATX", name="Austin", postal_code="78701", ships_to=["us"])
    assert round(float(wh.latitude), 1) == 30.3
    assert round(float(wh.longitude), 1) == -97.7
    assert wh.ships_to == ["US"]
