"""The storefront's optimistic placement (orders/fastpath.py): planned on unlocked stock, taken
last in one guarded statement, and run again the locked way when the stock moved in between;
scarce stock taken first, so an order that loses the last units goes on without running again."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from inventory.models import StockLevel
from oms.models import IdempotencyRecord
from orders import fastpath
from orders.models import Order, OrderEvent
from tests.conftest import api_client_for
from tests.inventory.factories import stock
from tests.orders.conftest import order_input, order_payload
from tests.orders.test_order_concurrency import _run_threads


def _allocated(tenant):
    return sum(StockLevel.objects.for_tenant(tenant).values_list("allocated", flat=True))


def test_a_plain_placement_is_inserted_allocated_and_tells_its_timeline(api_a, tenant_a, stocked):
    response = api_a.post("/api/v1/orders/", order_payload("W-1"), format="json")
    assert response.status_code == 201
    assert response.json()["state"] == "allocated"
    order = Order.objects.for_tenant(tenant_a).get(external_id="W-1")
    events = list(OrderEvent.objects.for_tenant(tenant_a).filter(order=order).order_by("pk"))
    assert [(e.type, e.from_state, e.to_state) for e in events[:3]] == [
        ("created", "", "pending"),
        ("allocated", "", ""),
        ("transition", "pending", "allocated"),
    ]
    assert _allocated(tenant_a) == 2


def test_stock_taken_between_the_plan_and_the_take_places_the_order_again_the_locked_way(
    api_a, tenant_a, stocked, sku_a, monkeypatch
):
    """The guard refuses the take (a rival took the units after the plan): nothing of the first
    attempt stays (on PostgreSQL but its order number: a sequence's number is not given back,
    orders/numbers.py), and the order is placed again, locked."""
    stock(tenant_a, sku_a, stocked[2], 1000)  # plenty: the units are taken last
    takes = []

    def refused(*, tenant, plan, now):
        takes.append(plan)
        raise fastpath.StockMoved("a rival took the units")

    monkeypatch.setattr(fastpath, "stock_take", refused)
    response = api_a.post("/api/v1/orders/", order_payload("W-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert len(takes) == 1  # the second run went the locked way
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "allocated"
    assert body["number"] == ("1002" if connection.vendor == "postgresql" else "1001")
    order = Order.objects.for_tenant(tenant_a).get()
    assert OrderEvent.objects.for_tenant(tenant_a).filter(order=order, type="created").count() == 1
    assert IdempotencyRecord.objects.for_tenant(tenant_a).get(key="k-1").status_code == 201
    assert _allocated(tenant_a) == 2
    again = api_a.post("/api/v1/orders/", order_payload("W-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.json() == body


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.parametrize(
    "taken_first, wanted, state, runs",
    [(4, 1, "backordered", [False]), (3, 2, "partially_allocated", [False, True])],
    ids=["none-left", "one-left"],
)
def test_an_order_that_loses_scarce_units_waits_for_the_winner_and_then_reads_what_it_left(
    api_a, tenant_a, stocked, monkeypatch, taken_first, wanted, state, runs
):
    """SKU-456 has 4 units (scarce: they are taken before the order is written). One placement
    takes some and stays open; another waits for those rows and finds them short when the first
    commits. None left: it is placed backordered in the same run (no StockMoved, no second run).
    One left: it runs again the locked way (which locks older orders before stock rows), which
    allocates that one."""
    from orders import services
    from tests.orders.services.test_placement_locks import _until, _waiting_on_a_lock

    real, made = services.order_create, []

    def counted(**kwargs):
        made.append(kwargs["savepoint"])
        return real(**kwargs)

    first_placed, first_may_commit = threading.Event(), threading.Event()

    def first():
        try:
            with transaction.atomic():
                real(
                    tenant=tenant_a,
                    data=order_input(
                        "W-FIRST",
                        [{"sku": "SKU-456", "quantity": taken_first, "unit_price": "1.00"}],
                        customer={"email": "first@example.com"},  # not the other's: no wait on it
                    ),
                    savepoint=False,
                )
                first_placed.set()
                first_may_commit.wait(10)
        finally:
            connection.close()

    opener = threading.Thread(target=first)
    opener.start()
    assert first_placed.wait(10)
    monkeypatch.setattr(services, "order_create", counted)
    threading.Thread(
        target=lambda: (_until(lambda: _waiting_on_a_lock() == 1), first_may_commit.set())
    ).start()
    body = order_payload("W-LATE", [{"sku": "SKU-456", "quantity": wanted, "unit_price": "1.00"}])
    response = api_a.post("/api/v1/orders/", body, format="json")
    opener.join(10)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == state
    assert made == runs
    level = StockLevel.objects.for_tenant(tenant_a).get(sku__code="SKU-456")
    assert (level.on_hand, level.allocated) == (4, 4)


def test_an_order_waiting_for_the_sku_is_served_before_a_new_one(api_a, tenant_a, stocked, sku_a):
    """Stock arrives while an older order waits: a new order goes the locked way, which gives the
    older order its units first."""
    StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a).update(on_hand=0)
    older = api_a.post("/api/v1/orders/", order_payload("W-OLD"), format="json").json()
    assert older["state"] == "backordered"
    StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a, warehouse__code="W3").update(on_hand=2)
    newer = api_a.post("/api/v1/orders/", order_payload("W-NEW"), format="json").json()
    assert newer["state"] == "backordered"
    assert Order.objects.for_tenant(tenant_a).get(external_id="W-OLD").state == "allocated"


@pytest.mark.django_db(transaction=True)
def test_thirty_storefront_orders_racing_for_five_units_never_oversell(key_a, tenant_a, warehouses, sku_a):
    stock(tenant_a, sku_a, warehouses[2], 5)
    raw = key_a[1]

    def place(index):
        body = order_payload(f"HOT-{index}", lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "9.00"}])
        response = api_client_for(raw).post("/api/v1/orders/", body, format="json")
        return response.status_code, response.json()["state"]

    results, errors = _run_threads(30, place)
    assert errors == []
    assert sorted(state for _, state in results).count("allocated") == 5
    assert {status for status, _ in results} == {201}
    level = StockLevel.objects.for_tenant(tenant_a).get(sku=sku_a)
    assert (level.on_hand, level.allocated) == (5, 5)
    orders = Order.objects.for_tenant(tenant_a)
    assert orders.filter(state__in=["allocated", "in_fulfillment"]).count() == 5  # released on commit
    assert orders.filter(state="backordered").count() == 25


def test_the_201_rendered_from_memory_is_what_reading_the_order_shows(api_a, tenant_a, stocked, monkeypatch):
    monkeypatch.setattr("oms.core.tasks.outbox_kick", lambda ids: None)  # the worker has not got to it yet
    two_lines = [
        {"sku": "SKU-123", "quantity": 12, "unit_price": "19.99", "tax": "1.50"},  # split: W3 and W2
        {"sku": "SKU-456", "quantity": 1, "unit_price": "5.00"},
    ]
    placed = api_a.post("/api/v1/orders/", order_payload("W-1", lines=two_lines), format="json")
    assert placed.status_code == 201
    body = placed.json()
    assert sorted(a["warehouse"] for a in body["lines"][0]["allocations"]) == ["W2", "W3"]
    assert body == api_a.get(f"/api/v1/orders/{body['id']}/").json()
