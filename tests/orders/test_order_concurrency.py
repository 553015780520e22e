"""Real threads against the real database (SQLite in make test, PostgreSQL in CI)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from inventory.models import StockLevel
from orders.models import Allocation, Order
from orders.services import order_allocate, order_cancel, order_create
from tests.conftest import api_client_for
from tests.orders.conftest import order_input, order_payload

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_twenty_parallel_creates_with_one_idempotency_key_make_one_order(key_a, tenant_a, stocked):
    raw = key_a[1]
    body = order_payload("W-RACE")

    def create(_):
        response = api_client_for(raw).post(
            "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="race-1"
        )
        return response.status_code, response.json().get("id")

    results, errors = _run_threads(20, create)
    assert errors == []
    assert Order.objects.for_tenant(tenant_a).count() == 1
    order = Order.objects.for_tenant(tenant_a).get()
    assert {status for status, _ in results} == {201}
    assert {order_id for _, order_id in results} == {str(order.pk)}
    assert sum(level.allocated for level in StockLevel.objects.for_tenant(tenant_a)) == 2


def test_concurrent_cancel_and_allocate_leave_a_consistent_order(tenant_a, stocked):
    for attempt in range(5):
        order, _ = order_create(tenant=tenant_a, data=order_input(f"RACE-{attempt}"))

        def act(index, order_id=order.pk):
            if index % 2:
                return order_cancel(tenant=tenant_a, order_id=order_id, reason="race").state
            return order_allocate(tenant=tenant_a, order_id=order_id).state

        _, errors = _run_threads(4, act)
        # a second cancel loses cleanly (illegal transition), nothing else may fail
        assert all(getattr(e, "code", "") == "illegal_transition" for e in errors), errors
        order.refresh_from_db()
        assert order.state == "cancelled"
        assert not Allocation.objects.for_tenant(tenant_a).filter(order_line__order=order).exists()
    assert sum(level.allocated for level in StockLevel.objects.for_tenant(tenant_a)) == 0
