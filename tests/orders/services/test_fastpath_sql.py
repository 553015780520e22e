"""The placement's folded statements (orders/fastpath.py, PostgreSQL) beside their ORM reference
(services._customer_for, _address_create, numbers.number_next + save): the same rows, in fewer statements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone

from orders import fastpath, numbers, services
from orders.models import Address, Customer, Order, OrderNumber
from tests.orders.conftest import AUSTIN
from tests.sqlcount import sql_counted

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the folded statements are PostgreSQL's"),
]


def _row(obj, *leave_out):
    fresh = type(obj).objects.unscoped().get(pk=obj.pk)
    return {k: v for k, v in model_to_dict(fresh).items() if k not in ("id", *leave_out)}


def test_a_new_customer_and_the_address_are_the_rows_the_orm_writes(tenant_a):
    given = {"email": " Ana@Example.com ", "name": "Ana Lima", "phone": "+1 512"}
    with sql_counted() as cost:
        customer, address = fastpath.customer_and_address(tenant_a, given, dict(AUSTIN))
    assert len(cost.statements) == 1, str(cost)
    reference = services._customer_for(tenant_a, {**given, "email": "other@example.com"})
    reference_address = services._address_create(tenant_a, dict(AUSTIN))
    assert _row(customer, "email", "created_at") == _row(reference, "email", "created_at")
    assert _row(customer)["email"] == "ana@example.com"
    assert _row(address) == _row(reference_address)
    assert (customer.name, customer.phone, address.city) == ("Ana Lima", "+1 512", "Austin")
    assert customer.created_at == Customer.objects.unscoped().get(pk=customer.pk).created_at


def test_a_returning_customer_is_found_and_kept_as_first_given(tenant_a, tenant_b):
    first = services._customer_for(tenant_a, {"email": "ana@example.com", "name": "Ana"})
    customer, _ = fastpath.customer_and_address(
        tenant_a, {"email": "ANA@example.com", "name": "Someone else"}, dict(AUSTIN)
    )
    assert customer.pk == first.pk and customer.name == "Ana"
    assert Customer.objects.unscoped().filter(email="ana@example.com").count() == 1
    other, _ = fastpath.customer_and_address(tenant_b, {"email": "ana@example.com"}, dict(AUSTIN))
    assert other.pk != first.pk and other.tenant_id == tenant_b.pk  # each tenant its own customer
    assert Address.objects.unscoped().filter(tenant=tenant_b).count() == 1


PLACED_AT = timezone.now()


def _order(tenant, external_id):
    customer = services._customer_for(tenant, {"email": "ana@example.com"})
    address = services._address_create(tenant, dict(AUSTIN))
    return Order(
        tenant=tenant,
        channel="web",
        external_id=external_id,
        currency="USD",
        customer=customer,
        ship_to=address,
        bill_to=address,
        subtotal=Decimal("39.98"),
        shipping_price=Decimal("5.00"),
        tax=Decimal("0.00"),
        discount=Decimal("0.00"),
        total=Decimal("44.98"),
        allocation_plan={"strategy": "nearest", "explanation": "W2 has it"},
        state="allocated",
        placed_at=PLACED_AT,
    )


def test_the_order_numbered_in_its_insert_is_the_row_the_orm_writes(tenant_a):
    reference = _order(tenant_a, "W-REF")
    reference.number = numbers.number_next(tenant_a)
    reference.save()
    order = _order(tenant_a, "W-SQL")
    with sql_counted() as cost:
        assert fastpath.order_insert_numbered(order)
    assert len(cost.statements) == 1, str(cost)
    assert int(order.number) == int(reference.number) + 1
    leave_out = ("external_id", "number", "created_at", "updated_at", "ship_to", "bill_to")
    assert _row(order, *leave_out) == _row(reference, *leave_out)
    assert _row(order)["number"] == order.number and order.created_at is not None


def test_a_tenant_without_its_sequence_is_left_to_the_orm_which_makes_it_after_the_counter(tenant_a):
    numbers.number_sequence_drop(tenant_a.pk)  # as for a tenant made without its post_save
    OrderNumber.objects.create(tenant=tenant_a, last_value=1041)
    order = _order(tenant_a, "W-1")
    assert not fastpath.order_insert_numbered(order)
    assert not Order.objects.unscoped().exists()
    assert numbers.number_next(tenant_a) == "1042"
    assert fastpath.order_insert_numbered(order)
    assert order.number == "1043"


def test_the_stock_rows_read_in_sql_are_the_orms(tenant_a, stocked, sku_a, sku_b):
    from tests.orders.conftest import order_input

    sku_ids = {sku_a.pk, sku_b.pk}
    assert fastpath.stock_rows_sql(tenant_a, sku_ids) == fastpath.stock_rows(tenant_a, sku_ids)
    assert len(fastpath.stock_rows(tenant_a, sku_ids)) == 3
    # an older order waiting for SKU-123 (backordered: 30 units, 15 in stock)
    services.order_create(
        tenant=tenant_a, data=order_input("W-OLD", [{"sku": "SKU-123", "quantity": 30, "unit_price": "1.00"}])
    )
    rows = fastpath.stock_rows_sql(tenant_a, sku_ids)
    assert rows == fastpath.stock_rows(tenant_a, sku_ids)
    assert {row["sku_id"]: row["waiting"] for row in rows} == {sku_a.pk: True, sku_b.pk: False}


def test_the_lines_and_allocations_inserted_together_are_the_orms_rows(tenant_a, stocked, sku_a, sku_b):
    from inventory.allocation import AllocationPolicy, ShipTo
    from orders.models import Allocation, OrderLine

    def planned(external_id):
        order = _order(tenant_a, external_id)
        order.number = numbers.number_next(tenant_a)
        order.save()
        lines = [
            OrderLine(tenant=tenant_a, order=order, sku=sku, quantity=quantity, unit_price=Decimal("1.00"),
                      tax=Decimal("0"), discount=Decimal("0"), position=index)
            for index, (sku, quantity) in enumerate([(sku_a, 12), (sku_b, 3)])
        ]  # fmt: skip
        plan = fastpath.placement_plan(
            rows=fastpath.placement_rows(tenant=tenant_a, lines=lines), lines=lines,
            ship_to=ShipTo(country="US", postal_code="78701", city="Austin"),
            policy=AllocationPolicy.for_tenant(tenant_a),
        )  # fmt: skip
        fastpath.lines_allocated(plan, lines)
        return lines, plan

    lines, plan = planned("W-SQL")
    with sql_counted() as cost:
        made = fastpath.lines_and_allocations_insert(plan, lines)
    assert len(cost.statements) == 1, str(cost)
    reference_lines, reference_plan = planned("W-REF")
    OrderLine.objects.bulk_create(reference_lines)
    reference = fastpath.allocations_of(reference_plan, reference_lines)
    Allocation.objects.bulk_create(reference)

    assert [_row(line, "order") for line in lines] == [_row(line, "order") for line in reference_lines]
    assert len(made) == 3  # SKU-123 from two warehouses (5 + 10 in stock), SKU-456 from W1
    leave_out = ("order_line", "created_at")
    assert [_row(a, *leave_out) for a in made] == [_row(a, *leave_out) for a in reference]
    for allocation, line in ((a, a.order_line) for a in made):
        assert Allocation.objects.unscoped().get(pk=allocation.pk).order_line_id == line.pk
    assert [line.quantity_allocated for line in lines] == [12, 3]


def test_the_timeline_and_audit_row_inserted_together_are_the_orms_rows(tenant_a):
    from oms.core.audit import audit_event
    from oms.models import AuditEvent
    from orders.models import OrderEvent

    def made(external_id):
        order = _order(tenant_a, external_id)
        order.number = numbers.number_next(tenant_a)
        order.save()
        events = [
            OrderEvent(tenant_id=tenant_a.pk, order=order, type="created", actor="api_key:abc",
                       message="Order placed through web", to_state="pending", data={"total": "44.98"}),
            OrderEvent(tenant_id=tenant_a.pk, order=order, type="allocated", actor="api_key:abc",
                       message="W2 has it", data={"lines": [{"sku": "SKU-123", "units": 2}]}),
        ]  # fmt: skip
        audit = audit_event(tenant=tenant_a, actor="api_key:abc", action="order.created", obj=order,
                            after={"number": order.number, "total": "44.98"})  # fmt: skip
        return order, events, audit

    _, ref_events, ref_audit = made("W-REF")
    ref_audit.save()  # the ORM's way (SQLite's): the reference
    OrderEvent.objects.bulk_create(ref_events)
    order, events, audit = made("W-SQL")
    with sql_counted() as cost:
        fastpath.timeline_and_audit_insert(events, audit)
    assert len(cost.statements) == 1, str(cost)

    def rows(model, objs, *leave_out):
        return [_row(obj, "created_at", *leave_out) for obj in objs]

    assert rows(OrderEvent, events, "order") == rows(OrderEvent, ref_events, "order")
    assert [e.order_id for e in events] == [order.pk] * 2 and all(e.pk for e in events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # in the timeline's order
    assert rows(AuditEvent, [audit], "object_id", "after") == rows(
        AuditEvent, [ref_audit], "object_id", "after"
    )
    assert _row(audit)["object_id"] == str(order.pk) and _row(audit)["after"]["number"] == order.number
    with pytest.raises(Exception, match="append-only"):  # the table's trigger still refuses edits
        with connection.cursor() as cursor:
            cursor.execute("UPDATE oms_auditevent SET action = 'x' WHERE id = %s", [audit.pk])
