"""What a placement locks, and in which order, on PostgreSQL: no placement waits on another's
customer row, every placement takes the tenant's order number before its stock rows, and a
deadlock's victim runs again."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F

from inventory.models import StockLevel
from oms.models import IdempotencyRecord
from orders import fastpath, services
from orders.models import Customer, Order
from orders.services import order_create
from tests.orders.conftest import AUSTIN, order_input, order_payload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction: read afresh
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_first_order_that_lost_the_race_for_its_customer_does_not_hold_the_customer(tenant_a, stocked):
    """Two first orders of one email: the second waits for the first's new customer row and then
    takes it. While that second placement is still open (it would next wait for the order
    number), a third order of the same customer commits at once: its foreign key check at COMMIT
    finds the customer row unlocked. Had the second locked it (ON CONFLICT DO UPDATE does), the
    third, holding the order number, would wait for the second, and the second for the number:
    a deadlock."""
    given = {"email": "new@example.com", "name": "Ana"}
    first_made, first_may_commit, second_has_it, second_may_commit = (threading.Event() for _ in range(4))
    found = {}

    def first():
        try:
            with transaction.atomic():
                fastpath.customer_and_address(tenant_a, given, dict(AUSTIN))
                first_made.set()
                first_may_commit.wait(10)
        finally:
            connection.close()

    def second():
        try:
            first_made.wait(10)
            with transaction.atomic():
                found["customer"], _ = fastpath.customer_and_address(tenant_a, given, dict(AUSTIN))
                second_has_it.set()
                second_may_commit.wait(10)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        first_made.wait(10)
        _until(lambda: _waiting_on_a_lock() == 1)  # the second waits for the first's new row
        first_may_commit.set()
        assert second_has_it.wait(10)
        started = time.monotonic()
        order, created = order_create(tenant=tenant_a, data=order_input("W-3", customer=given))
        took = time.monotonic() - started
    finally:
        first_may_commit.set()
        second_may_commit.set()
        for thread in threads:
            thread.join(20)
    assert created and took < 5, f"the third order waited {took:.1f} s for the second placement"
    assert order.customer_id == found["customer"].pk
    assert Customer.objects.unscoped().filter(tenant=tenant_a, email="new@example.com").count() == 1
    assert Order.objects.for_tenant(tenant_a).get(external_id="W-3").state in ("allocated", "in_fulfillment")


def test_a_sold_out_placement_takes_the_order_number_before_its_share_of_the_stock(tenant_a, stocked, sku_a):
    """Every placement takes the tenant's order number before its stock rows. A placement holding
    the number and waiting for a stock row must never wait for a sold-out placement that holds
    a share of that row while it waits for the number (the two would deadlock)."""
    order_create(
        tenant=tenant_a, data=order_input("W-FIRST", customer={"email": "a@example.com"})
    )  # the counter
    StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a).update(on_hand=F("allocated"))  # sold out
    row = StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a).order_by("pk").first()
    placed, failed = [], []

    def sold_out_placement():
        try:
            placed.append(order_create(tenant=tenant_a, data=order_input("W-SOLD-OUT"))[0])
        except Exception as error:
            failed.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=sold_out_placement)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '3s'")
        cursor.execute(
            "UPDATE orders_ordernumber SET last_value = last_value WHERE tenant_id = %s", [tenant_a.pk]
        )
        thread.start()
        _until(lambda: _waiting_on_a_lock() == 1 or not thread.is_alive())
        assert (placed, failed) == ([], []), "the sold-out placement did not wait for the number"
        cursor.execute("SELECT 1 FROM inventory_stocklevel WHERE id = %s FOR NO KEY UPDATE", [row.pk])
    thread.join(20)
    assert failed == []
    assert placed[0].state == "backordered"


def test_a_placement_chosen_as_a_deadlock_victim_runs_again(api_a, tenant_a, stocked, monkeypatch):
    """Whatever lock cycle remains, PostgreSQL breaks it by rolling one transaction back whole:
    the storefront's create runs once more (the locked way) instead of answering 500."""
    from psycopg import errors

    real = services.order_create
    calls = []

    def once_a_victim(**kwargs):
        calls.append(kwargs["savepoint"])
        if len(calls) == 1:
            try:
                raise errors.DeadlockDetected("deadlock detected")
            except errors.DeadlockDetected as cause:
                raise OperationalError("deadlock detected") from cause
        return real(**kwargs)

    monkeypatch.setattr(services, "order_create", once_a_victim)
    response = api_a.post("/api/v1/orders/", order_payload("W-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    assert calls == [False, True]
    assert Order.objects.for_tenant(tenant_a).filter(external_id="W-1").count() == 1
    assert IdempotencyRecord.objects.for_tenant(tenant_a).get(key="k-1").status_code == 201


def test_a_lost_connection_is_not_run_again(api_a, stocked, monkeypatch):
    calls = []

    def connection_lost(**kwargs):
        calls.append(kwargs["savepoint"])
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "order_create", connection_lost)
    with pytest.raises(OperationalError):
        api_a.post("/api/v1/orders/", order_payload("W-1"), format="json")
    assert calls == [False]
