"""Receiving a return: conditions and dispositions per line, the stock ledger, backorders, caps."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from inventory.models import StockLevel, StockMovement
from oms.core.errors import NotFoundError
from orders.models import Order
from returns.errors import ReturnConflict, ReturnError
from returns.models import ReturnReceipt
from returns.services import ReceiptInput, return_receive
from tests.inventory.factories import WarehouseFactory
from tests.orders.conftest import order_input
from tests.returns.factories import (
    authorized_return,
    dallas,
    line_of,
    open_return,
    receive_all,
    shipped_order,
)


def level(tenant, code, warehouse_code="DAL"):
    return StockLevel.objects.for_tenant(tenant).get(sku__code=code, warehouse__code=warehouse_code)


def receipt(ret, code, quantity, disposition, condition="new", warehouse=None):
    line = ret.lines.get(sku__code=code)
    return ReceiptInput(
        line=line.pk,
        quantity=quantity,
        condition=condition,
        disposition=disposition,
        warehouse=(warehouse or dallas(ret.tenant)).pk,
    )


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile_stock", stdout=out)
    return out.getvalue()


def test_restock_one_unit_and_scrap_another(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))
    before = level(tenant_a, "RET-1")

    ret = return_receive(
        tenant=tenant_a,
        return_id=ret.pk,
        receipts=[
            receipt(ret, "RET-1", 1, "restock", "new"),
            receipt(ret, "RET-1", 1, "scrap", "damaged"),
        ],
        actor="test",
    )

    assert ret.state == "received" and ret.received_at is not None
    after = level(tenant_a, "RET-1")
    assert after.on_hand == before.on_hand + 1  # the scrapped unit never becomes sellable
    assert after.available == before.available + 1
    moves = list(
        StockMovement.objects.for_tenant(tenant_a)
        .filter(stock_level=after, reference__startswith=ret.rma_number)
        .order_by("pk")
        .values_list("reason", "delta")
    )
    assert moves == [("return_restock", 1), ("receipt", 1), ("damage", -1)]
    assert "0 drifted" in reconcile()
    line = ret.lines.get()
    assert line.quantity_received == 2
    assert line_of(order, "RET-1").quantity_returned == 2
    assert sorted(ReturnReceipt.objects.for_tenant(tenant_a).values_list("condition", "disposition")) == [
        ("damaged", "scrap"),
        ("new", "restock"),
    ]


def test_refurbished_units_write_no_stock(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = authorized_return(order, ("RET-2", 1, "defective"))
    before = level(tenant_a, "RET-2").on_hand

    receive_all(ret, disposition="refurbish", condition="used")

    assert level(tenant_a, "RET-2").on_hand == before
    assert (
        not StockMovement.objects.for_tenant(tenant_a).filter(reference__startswith=ret.rma_number).exists()
    )


def test_restocked_units_go_to_the_chosen_warehouse(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    austin = WarehouseFactory(tenant=tenant_a, code="AUS", postal_code="78701")
    ret = authorized_return(order, ("RET-2", 1, "wrong_size"))

    return_receive(
        tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-2", 1, "restock", warehouse=austin)]
    )

    assert level(tenant_a, "RET-2", "AUS").on_hand == 1
    assert "0 drifted" in reconcile()


def test_a_restock_lets_a_backorder_allocate(tenant_a, django_capture_on_commit_callbacks):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    free = level(tenant_a, "RET-1").available
    waiting, _ = order_create_for(tenant_a, quantity=free + 1)
    assert waiting.state == "partially_allocated"
    ret = authorized_return(order, ("RET-1", 1, "wrong_size"))

    with django_capture_on_commit_callbacks(execute=True):
        receive_all(ret)

    waiting.refresh_from_db()
    assert waiting.state in ("allocated", "in_fulfillment")
    assert waiting.lines.get().quantity_allocated == free + 1
    assert "0 drifted" in reconcile()


def order_create_for(tenant, *, quantity):
    from orders.services import order_create

    return order_create(
        tenant=tenant,
        data=order_input("WAITING-1", lines=[{"sku": "RET-1", "quantity": quantity, "unit_price": "30.00"}]),
    )


def test_receiving_more_than_expected_is_refused_and_changes_nothing(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    before = level(tenant_a, "RET-1").on_hand

    with pytest.raises(ReturnError) as refused:
        return_receive(tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 2, "restock")])

    assert refused.value.code == "quantity_exceeds_expected"
    ret.refresh_from_db()
    assert ret.state == "authorized"
    assert level(tenant_a, "RET-1").on_hand == before


def test_receiving_may_take_several_calls_until_inspection(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = authorized_return(order, ("RET-1", 2, "wrong_size"))

    return_receive(tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 1, "restock")])
    ret = return_receive(tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 1, "restock")])

    assert ret.lines.get().quantity_received == 2
    with pytest.raises(ReturnError):
        return_receive(tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 1, "restock")])


def test_a_return_not_authorized_cannot_be_received(tenant_a):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = open_return(order, ("RET-1", 1, "wrong_size"))

    with pytest.raises(ReturnConflict) as refused:
        return_receive(tenant=tenant_a, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 1, "restock")])
    assert refused.value.code == "illegal_transition"


def test_another_tenants_return_or_warehouse_is_refused(tenant_a, tenant_b):
    order = shipped_order(tenant_a, delivered_days_ago=2)
    ret = authorized_return(order, ("RET-1", 1, "wrong_size"))
    their_warehouse = dallas(tenant_b)

    with pytest.raises(NotFoundError):
        return_receive(tenant=tenant_b, return_id=ret.pk, receipts=[receipt(ret, "RET-1", 1, "restock")])
    with pytest.raises(ReturnError) as refused:
        return_receive(
            tenant=tenant_a,
            return_id=ret.pk,
            receipts=[receipt(ret, "RET-1", 1, "restock", warehouse=their_warehouse)],
        )
    assert refused.value.code == "unknown_warehouse"
    assert (
        Order.objects.for_tenant(tenant_a).get(pk=order.pk).lines.get(sku__code="RET-1").quantity_returned
        == 0
    )
