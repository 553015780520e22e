"""What a placement locks, and for how long, on PostgreSQL: no placement waits on another's
customer row, so the tenant's order number and the customer row never wait on each other."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from orders import fastpath
from orders.models import Customer, Order
from orders.services import order_create
from tests.orders.conftest import AUSTIN, order_input

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
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
