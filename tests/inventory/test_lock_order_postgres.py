"""Two stock transactions side by side on PostgreSQL, paused where the old lock order deadlocked.

Each test holds one row with a plain lock from the test's own connection, so that the first
transaction stops at a known point with some stock rows already locked; starts the second;
waits until both are blocked; then lets go. With every stock row locked in one statement
ordered by pk, both finish; with rows locked one by one, PostgreSQL reports a deadlock.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from fulfillment.models import FulfillmentSettings
from inventory.allocation import AllocationPolicy, DemandLine, ShipTo, allocation_apply
from inventory.models import InboundLine, StockLevel
from inventory.services import inbound_create, inbound_receive, stock_receive
from orders.models import Allocation, Order
from orders.services import LineInput, order_create, order_reallocate
from tests.inventory.conftest import AUSTIN
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.oms.factories import TenantFactory
from tests.orders.conftest import order_input

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


class _Session(threading.Thread):
    """One service call in a thread of its own, with its own database connection."""

    def __init__(self, call) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.pid: int | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()

    def run(self) -> None:
        from django.db import connection as own

        try:
            with own.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.ready.set()
            self.call()
        except BaseException as exc:
            self.error = exc
        finally:
            self.ready.set()
            own.close()


def _start(call) -> _Session:
    session = _Session(call)
    session.start()
    session.ready.wait(10)
    return session


def _wait_until_blocked(*sessions: _Session, timeout: float = 10) -> None:
    """Until every session waits on a lock (pg_locks is read afresh on every query)."""
    pids = [s.pid for s in sessions]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)", [pids]
            )
            if cursor.fetchone()[0] == len(pids):
                return
        if any(not s.is_alive() for s in sessions):
            return
        time.sleep(0.02)
    raise AssertionError("the sessions never blocked")


def _finish(*sessions: _Session) -> list[BaseException]:
    for session in sessions:
        session.join(30)
    return [s.error for s in sessions if s.error is not None]


@pytest.fixture
def two_skus():
    """SKU A and SKU B in one warehouse; B's stock row has the lower pk, A sorts first by SKU."""
    tenant = TenantFactory(slug="locks")
    sku_a = SKUFactory(tenant=tenant, code="A")
    sku_b = SKUFactory(tenant=tenant, code="B")
    warehouse = WarehouseFactory(tenant=tenant, code="DAL", postal_code="75201")
    row_b = stock(tenant, sku_b, warehouse, 5)
    row_a = stock(tenant, sku_a, warehouse, 5)
    assert sku_a.pk < sku_b.pk and row_b.pk < row_a.pk
    return tenant, sku_a, sku_b, warehouse


def test_an_inbound_receipt_beside_an_allocation_of_the_same_skus_does_not_deadlock(two_skus):
    tenant, sku_a, sku_b, warehouse = two_skus
    shipment = inbound_create(tenant=tenant, warehouse_id=warehouse.pk, lines=[(sku_a.pk, 3), (sku_b.pk, 3)])

    with transaction.atomic():
        # The receipt stops where it counts SKU A received on the shipment's line, with the
        # stock rows it has locked by then; the allocation then asks for the same stock rows.
        InboundLine.objects.for_tenant(tenant).select_for_update().get(shipment=shipment, sku=sku_a)
        receipt = _start(lambda: inbound_receive(tenant=tenant, shipment_id=shipment.pk))
        _wait_until_blocked(receipt)
        allocation = _start(
            lambda: allocation_apply(
                tenant=tenant,
                lines=[DemandLine("a", sku_a.pk, 2), DemandLine("b", sku_b.pk, 2)],
                ship_to=ShipTo(country="US", postal_code=AUSTIN),
                policy=AllocationPolicy(),
            )
        )
        _wait_until_blocked(receipt, allocation)

    assert _finish(receipt, allocation) == []
    levels = {lv.sku_id: lv for lv in StockLevel.objects.for_tenant(tenant)}
    assert (levels[sku_a.pk].on_hand, levels[sku_a.pk].allocated) == (8, 2)
    assert (levels[sku_b.pk].on_hand, levels[sku_b.pk].allocated) == (8, 2)


def test_a_reallocation_beside_an_allocation_of_the_same_sku_does_not_deadlock():
    tenant = TenantFactory(slug="locks")
    # the order stays re-allocatable: not released to the warehouse on commit
    FulfillmentSettings.objects.create(tenant=tenant, auto_release=False)
    sku = SKUFactory(tenant=tenant, code="SKU-123")
    near = WarehouseFactory(tenant=tenant, code="DAL", postal_code="75201")
    far = WarehouseFactory(tenant=tenant, code="NJ", postal_code="07001")
    low = stock(tenant, sku, far, 10)  # the lower pk
    stock(tenant, sku, near, 2)
    order = _order(tenant, "REALLOC", 2)  # allocated from the near (higher pk) row
    allocation_row = Allocation.objects.for_tenant(tenant).get(order_line__order=order)
    assert allocation_row.stock_level_id != low.pk

    with transaction.atomic():
        # The re-allocation stops where it gives its allocation row back; the other order's
        # allocation then locks both stock rows in pk order.
        Allocation.objects.for_tenant(tenant).select_for_update().get(pk=allocation_row.pk)
        realloc = _start(lambda: order_reallocate(tenant=tenant, order_id=order.pk))
        _wait_until_blocked(realloc)
        other = _start(lambda: _order(tenant, "OTHER", 1))
        _wait_until_blocked(realloc, other)

    assert _finish(realloc, other) == []
    levels = list(StockLevel.objects.for_tenant(tenant))
    assert sum(lv.allocated for lv in levels) == 3
    assert all(lv.on_hand >= lv.allocated for lv in levels)


def _order(tenant, external_id: str, quantity: int) -> Order:
    data = order_input(external_id)
    data.lines = [LineInput(sku="SKU-123", quantity=quantity, unit_price=Decimal("19.99"))]
    return order_create(tenant=tenant, data=data)[0]


def test_first_receipts_racing_into_a_new_warehouse_land_on_one_row(two_skus):
    tenant, sku_a, sku_b, _ = two_skus
    new_warehouse = WarehouseFactory(tenant=tenant, code="NJ", postal_code="07001")
    barrier = threading.Barrier(6)

    def receive(index: int) -> None:
        barrier.wait(10)
        if index % 2:
            stock_receive(tenant=tenant, sku_id=sku_a.pk, warehouse_id=new_warehouse.pk, quantity=1)
        else:
            inbound_receive(
                tenant=tenant,
                shipment_id=inbound_create(
                    tenant=tenant, warehouse_id=new_warehouse.pk, lines=[(sku_b.pk, 2), (sku_a.pk, 1)]
                ).pk,
            )

    sessions = [_start(lambda i=i: receive(i)) for i in range(6)]

    assert _finish(*sessions) == []
    rows = {lv.sku_id: lv for lv in StockLevel.objects.for_tenant(tenant).filter(warehouse=new_warehouse)}
    assert (rows[sku_a.pk].on_hand, rows[sku_b.pk].on_hand) == (6, 6)
