"""Returns side by side on PostgreSQL: real threads, each with its own connection.

Two customers' requests for the last returnable unit of a line: one return opens, the other is
refused `quantity_exceeds_returnable`. Two receipts of the last expected unit: one is recorded,
and the stock moves once. Run with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_<name> pytest tests/returns.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from inventory.models import StockLevel
from oms.core.errors import DomainError
from returns.models import ReturnLine, ReturnRequest
from returns.services import ReceiptInput, ReturnLineInput, return_open, return_receive
from tests.returns.factories import authorized_return, dallas, line_of, shipped_order

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


def test_two_requests_for_the_last_returnable_unit_one_wins(tenant_a):
    order = shipped_order(tenant_a, (("RET-2", 1),), delivered_days_ago=1)
    line = line_of(order, "RET-2")

    results, errors = _run_threads(
        2,
        lambda i: return_open(
            tenant=tenant_a,
            order_id=order.pk,
            lines=[ReturnLineInput(line=line.pk, quantity=1, reason="wrong_size", note=f"request {i}")],
        ),
    )

    assert len(results) == 1 and [getattr(e, "code", repr(e)) for e in errors] == [
        "quantity_exceeds_returnable"
    ]
    assert ReturnRequest.objects.for_tenant(tenant_a).count() == 1
    assert sum(ReturnLine.objects.for_tenant(tenant_a).values_list("quantity", flat=True)) == 1


def test_two_receipts_of_the_last_unit_move_stock_once(tenant_a):
    order = shipped_order(tenant_a, (("RET-2", 1),), delivered_days_ago=1)
    ret = authorized_return(order, ("RET-2", 1, "wrong_size"))
    line = ret.lines.get()
    warehouse = dallas(tenant_a)
    before = StockLevel.objects.for_tenant(tenant_a).get(sku__code="RET-2", warehouse=warehouse).on_hand

    results, errors = _run_threads(
        2,
        lambda i: return_receive(
            tenant=tenant_a,
            return_id=ret.pk,
            receipts=[ReceiptInput(line.pk, 1, "new", "restock", warehouse.pk)],
            actor=f"dock {i}",
        ),
    )

    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], DomainError) and errors[0].code == "quantity_exceeds_expected"
    after = StockLevel.objects.for_tenant(tenant_a).get(sku__code="RET-2", warehouse=warehouse).on_hand
    assert after == before + 1
    line.refresh_from_db()
    assert line.quantity_received == 1
