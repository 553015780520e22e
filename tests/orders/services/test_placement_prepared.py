"""A placement's two statements that cost PostgreSQL most to plan, the stock rows it plans on and
the guarded take, are prepared once a connection has placed a few orders through the API
(oms.core.prepared), and the orders placed across the switch to the kept plan are the same."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import StockLevel
from oms.core.prepared import PREPARE_THRESHOLD
from orders.models import Order
from orders.states import OrderState
from tests.inventory.factories import stock
from tests.orders.conftest import order_payload

pytestmark = [
    pytest.mark.django_db(transaction=True),  # a connection of its own, closed before and after
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"),
]

STOCK_ROWS = "%s.sku_id = ANY($%::bigint[])%"
STOCK_TAKE = "%FOR NO KEY UPDATE OF s%"
PLACED = PREPARE_THRESHOLD + 2


def _prepared(pattern: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [pattern])
        return cursor.fetchone()[0]


def test_the_stock_rows_and_the_take_are_prepared_after_a_few_placements(api_a, tenant_a, warehouses, sku_a):
    for warehouse in warehouses:
        stock(tenant_a, sku_a, warehouse, 1000)  # plentiful: the common placement (orders/fastpath.py)
    connection.close()
    try:
        for n in range(PLACED):
            if n < PREPARE_THRESHOLD - 1:
                assert _prepared(STOCK_ROWS) == _prepared(STOCK_TAKE) == 0
            line = {"sku": sku_a.code, "quantity": 1, "unit_price": "10.00"}
            response = api_a.post("/api/v1/orders/", order_payload(f"W-P{n}", lines=[line]), format="json")
            assert response.status_code == 201, response.content
            assert response.json()["state"] == OrderState.ALLOCATED
        assert _prepared(STOCK_ROWS) == 1 and _prepared(STOCK_TAKE) == 1
        levels = StockLevel.objects.for_tenant(tenant_a).filter(sku=sku_a)
        assert sum(level.allocated for level in levels) == PLACED
        orders = Order.objects.for_tenant(tenant_a).prefetch_related("lines")
        allocated = [sum(line.quantity_allocated for line in order.lines.all()) for order in orders]
        assert allocated == [1] * PLACED
    finally:
        connection.close()
