"""What a placement locks, and in which order, on PostgreSQL: no placement waits on another's
customer row nor on another's order number, and a deadlock's victim runs again."""

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


def _placed_in_a_thread(data, placed, failed):
    def place():
        try:
            placed.append(order_create(tenant=data[0], data=data[1])[0])
        except Exception as error:
            failed.append(error)
        finally:
            connection.close()

    return threading.Thread(target=place)


@pytest.mark.parametrize("sold_out", [False, True], ids=["in-stock", "sold-out"])
def test_a_placement_does_not_wait_for_another_placements_order_number(tenant_a, stocked, sku_a, sold_out):
    """A placement holds its order number to its COMMIT: no placement of the tenant may wait for
    it (on a counter row, they all did, whatever their SKUs). Here one placement is written and
    left open; another, of other SKUs (or sold out, placed backordered under a share lock of its
    stock rows), commits meanwhile with the next number, and the open one then commits too."""
    first_written, first_may_commit, failed = threading.Event(), threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                order_create(
                    tenant=tenant_a,
                    data=order_input(
                        "W-OPEN",
                        [{"sku": "SKU-456", "quantity": 1, "unit_price": "1.00"}],
                        customer={"email": "open@example.com"},
                    ),
                )
                first_written.set()
                first_may_commit.wait(10)
        except Exception as error:
            failed.append(error)
        finally:
            connection.close()

    if sold_out:
        StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a).update(on_hand=F("allocated"))
    opener = threading.Thread(target=first)
    opener.start()
    assert first_written.wait(10)
    placed = []
    second = _placed_in_a_thread(
        (tenant_a, order_input("W-NEXT", customer={"email": "next@example.com"})), placed, failed
    )
    second.start()
    second.join(5)
    committed_meanwhile = not second.is_alive()
    first_may_commit.set()
    opener.join(10)
    second.join(10)
    assert failed == []
    assert committed_meanwhile, "the second placement waited for the first's order number"
    assert placed[0].state == ("backordered" if sold_out else "allocated")
    numbers = Order.objects.for_tenant(tenant_a).order_by("external_id").values_list("external_id", "number")
    assert list(numbers) == [("W-NEXT", "1002"), ("W-OPEN", "1001")]


def test_a_placement_rolled_back_leaves_a_gap_in_the_run(tenant_a, stocked):
    order_create(tenant=tenant_a, data=order_input("W-1", customer={"email": "a@example.com"}))
    with pytest.raises(RuntimeError), transaction.atomic():
        order_create(tenant=tenant_a, data=order_input("W-2", customer={"email": "a@example.com"}))
        raise RuntimeError("the storefront's request failed after the placement")
    order_create(tenant=tenant_a, data=order_input("W-3", customer={"email": "a@example.com"}))
    placed = Order.objects.for_tenant(tenant_a).order_by("number").values_list("external_id", "number")
    assert list(placed) == [("W-1", "1001"), ("W-3", "1003")]


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


def test_orders_that_lost_the_last_units_do_not_hold_the_stock_rows_for_each_other(tenant_a, stocked):
    """A takes the 4 units of SKU-456 and stays open; B, then C, plan on them and wait for A's
    rows. When A commits, both find nothing left. B is placed backordered and stays open: C must
    not wait for B's commit (B's refused take gave its row locks back, rolled back to its
    savepoint; only a share of the rows is held while a lost order is written)."""
    a_placed, a_may_commit, b_placed, b_may_commit = (threading.Event() for _ in range(4))
    states, failed = {}, []

    def place(name, quantity, placed=None, may_commit=None):
        try:
            with transaction.atomic():
                data = order_input(
                    f"W-{name}",
                    [{"sku": "SKU-456", "quantity": quantity, "unit_price": "1.00"}],
                    customer={"email": f"{name.lower()}@example.com"},
                )
                states[name] = order_create(tenant=tenant_a, data=data, savepoint=False)[0].state
                if placed is not None:
                    placed.set()
                    may_commit.wait(10)
        except Exception as error:
            failed.append(error)
        finally:
            connection.close()

    threads = {
        "A": threading.Thread(target=place, args=("A", 4, a_placed, a_may_commit)),
        "B": threading.Thread(target=place, args=("B", 1, b_placed, b_may_commit)),
        "C": threading.Thread(target=place, args=("C", 1)),
    }
    threads["A"].start()
    assert a_placed.wait(10)
    threads["B"].start()
    _until(lambda: _waiting_on_a_lock() == 1)
    threads["C"].start()
    _until(lambda: _waiting_on_a_lock() == 2)  # B first in the row's queue, then C
    a_may_commit.set()
    assert b_placed.wait(10)
    threads["C"].join(5)
    c_done_while_b_open = not threads["C"].is_alive()
    b_may_commit.set()
    for thread in threads.values():
        thread.join(10)
    assert failed == []
    assert c_done_while_b_open, "C waited for B's commit: B held the stock rows after losing them"
    assert states == {"A": "allocated", "B": "backordered", "C": "backordered"}
