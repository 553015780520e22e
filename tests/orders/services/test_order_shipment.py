"""Recording a shipment: stock leaves, lines count it, the order moves on, the payment is captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from inventory.services import stock_receive
from oms.core.errors import DomainError
from orders.models import Allocation, Payment
from orders.selectors import order_shipments
from orders.services import order_create, order_record_shipment
from tests.orders.conftest import order_input

TWO_LINES = [
    {"sku": "SKU-123", "quantity": 2, "unit_price": "10.00"},
    {"sku": "SKU-456", "quantity": 1, "unit_price": "20.00"},
]


@pytest.fixture
def order(tenant_a, stocked):
    return order_create(tenant=tenant_a, data=order_input(lines=TWO_LINES))[0]


def _level(tenant, code, warehouse_code):
    return StockLevel.objects.for_tenant(tenant).get(sku__code=code, warehouse__code=warehouse_code)


def test_shipping_everything_moves_stock_and_completes_the_order(tenant_a, order):
    before = _level(tenant_a, "SKU-123", "W3")
    shipped = order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="SHP-1", carrier="UPS", tracking_number="1Z999"
    )
    assert shipped.state == "shipped"
    after = _level(tenant_a, "SKU-123", "W3")
    assert (after.on_hand, after.allocated) == (before.on_hand - 2, before.allocated - 2)
    ledger = StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment", reference="SHP-1")
    assert sorted(m.delta for m in ledger) == [-2, -1]
    assert not Allocation.objects.for_tenant(tenant_a).filter(order_line__order=order).exists()
    assert [(line.quantity_shipped, line.quantity_allocated) for line in shipped.lines.order_by("pk")] == [
        (2, 0),
        (1, 0),
    ]
    [shipment] = order_shipments(shipped)
    assert (shipment["carrier"], shipment["tracking_number"]) == ("UPS", "1Z999")
    assert sorted((x["sku"], x["quantity"]) for x in shipment["lines"]) == [("SKU-123", 2), ("SKU-456", 1)]


def test_a_partial_shipment_then_the_rest(tenant_a, order):
    first_line = order.lines.get(sku__code="SKU-123")
    partial = order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="SHP-A", quantities={first_line.pk: 1}
    )
    assert partial.state == "partially_shipped"
    again = order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-A")
    assert again.state == "partially_shipped"  # the same reference is recorded once
    done = order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-B")
    assert done.state == "shipped"
    assert [s["reference"] for s in order_shipments(done)] == ["SHP-A", "SHP-B"]


def test_more_than_allocated_is_refused_and_nothing_changes(tenant_a, order):
    line = order.lines.get(sku__code="SKU-123")
    with pytest.raises(DomainError) as caught:
        order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-X", quantities={line.pk: 5})
    assert caught.value.code == "exceeds_allocated"
    order.refresh_from_db()
    assert order.state == "allocated"
    assert not StockMovement.objects.for_tenant(tenant_a).filter(reason="shipment").exists()


def test_another_tenant_cannot_ship_the_order(tenant_b, order):
    from orders.models import Order

    with pytest.raises(Order.DoesNotExist):
        order_record_shipment(tenant=tenant_b, order_id=order.pk, reference="SHP-1")


def test_partially_shipped_order_takes_the_rest_when_stock_arrives(
    tenant_a, warehouses, sku_a, django_capture_on_commit_callbacks
):
    stock_receive(tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[2].pk, quantity=1, reference="PO")
    order, _ = order_create(
        tenant=tenant_a, data=order_input(lines=[{"sku": "SKU-123", "quantity": 3, "unit_price": "5.00"}])
    )
    assert order.state == "partially_allocated"
    order = order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-1")
    assert order.state == "partially_shipped"
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            tenant=tenant_a, sku_id=sku_a.pk, warehouse_id=warehouses[2].pk, quantity=2, reference="PO2"
        )
    line = order.lines.get()
    assert (line.quantity_shipped, line.quantity_allocated, line.quantity_backordered) == (1, 2, 0)
    order = order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-2")
    assert order.state == "shipped"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("policy", "captured_first"), [("all_at_first", "45.00"), ("per_shipment", "25.00")])
def test_first_shipment_captures_by_the_tenants_policy(tenant_a, stocked, policy, captured_first):
    from orders.payments.services import payment_authorize

    tenant_a.split_capture_policy = policy
    tenant_a.save()
    order, _ = order_create(tenant=tenant_a, data=order_input(lines=TWO_LINES))  # 40.00 + 5.00 shipping
    payment = payment_authorize(
        tenant=tenant_a, order=order, provider="sandbox", payment_method="pm_card_visa"
    )
    assert (payment.state, payment.amount_authorized) == ("authorized", Decimal("45.00"))
    first_line = order.lines.get(sku__code="SKU-123")
    # 2 × 10.00 plus the 5.00 shipping price on the first shipment
    order_record_shipment(
        tenant=tenant_a, order_id=order.pk, reference="SHP-1", quantities={first_line.pk: 2}
    )
    captured = Payment.objects.for_tenant(tenant_a).filter(order=order).order_by("pk")
    assert captured[0].state == "captured"
    assert captured[0].amount_captured == Decimal(captured_first)
    order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="SHP-2")
    total = sum(p.amount_captured for p in Payment.objects.for_tenant(tenant_a).filter(order=order))
    assert total == Decimal("45.00")
