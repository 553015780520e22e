"""What one storefront order placement costs PostgreSQL: statements and commits.

The performance issue's target is at most 12 statements and 1 commit per placement, the
Idempotency-Key record included. BUDGET is what the code reaches today: the test fails when a
change adds a statement, and BUDGET comes down as the path gets leaner (see docs/performance.md
for where the statements go and what is left to reach the target).
"""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.models import StockLevel
from oms.core import outbox
from oms.models import IdempotencyRecord, OutboxMessage
from orders.models import Order
from tests.inventory.factories import stock
from tests.orders.conftest import order_payload
from tests.sqlcount import sql_counted

TARGET = 12
BUDGET = 9

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL's statements"),
]


def _place(api, external_id, **headers):
    body = order_payload(
        external_id,
        lines=[
            {"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"},
            {"sku": "SKU-456", "quantity": 1, "unit_price": "5.00"},
        ],
    )
    return api.post("/api/v1/orders/", body, format="json", **headers)


@pytest.fixture
def relay_later(monkeypatch):
    """The outbox rows a placement commits, kept for the relay instead of sent on commit: the
    relay's statements are counted apart (they follow the commit, in batches)."""
    kicked = []
    monkeypatch.setattr("oms.core.tasks.outbox_kick", kicked.extend)
    return kicked


def test_one_placement_with_an_idempotency_key_is_one_commit_of_few_statements(
    api_a, tenant_a, stocked, sku_a, sku_b, relay_later, settings
):
    settings.API_KEY_CACHE = "on"  # as with Redis: the key's row comes from the cache (oms/core/auth.py)
    stock(tenant_a, sku_a, stocked[2], 1000)  # plenty: taken last (scarce stock costs two more, below)
    stock(tenant_a, sku_b, stocked[0], 1000)
    assert _place(api_a, "W-WARM").status_code == 201  # the first request reads and caches the API key
    with sql_counted() as cost:
        response = _place(api_a, "W-1", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "allocated"
    assert cost.commits == 1, str(cost)
    assert cost.read_only == 0, str(cost)  # the API key came from the cache
    assert not any(sql.upper().startswith(("SAVEPOINT", "RELEASE")) for sql in cost.statements), str(cost)
    assert len(cost.statements) <= BUDGET, str(cost)
    # what the statements wrote: the order allocated, its stock taken, its record, its outbox row
    order = Order.objects.unscoped().get(external_id="W-1")
    assert order.state == "allocated" and order.lines.count() == 2
    assert (
        sum(StockLevel.objects.unscoped().values_list("allocated", flat=True)) == 6
    )  # W-WARM's 3 and W-1's 3
    assert list(order.events.values_list("type", flat=True).order_by("pk"))[:2] == ["created", "allocated"]
    assert IdempotencyRecord.objects.unscoped().get(key="k-1").status_code == 201
    releases = OutboxMessage.objects.filter(pk__in=relay_later, task__endswith="release_to_warehouse_task")
    assert releases.count() == 2  # W-WARM's and W-1's release


def test_a_placement_of_scarce_stock_costs_its_savepoint_and_its_release(
    api_a, stocked, relay_later, settings
):
    """Stock that 20 more such orders would sell out is taken before the order is written, in a
    savepoint (orders/fastpath.py stock_taken_first): two statements more, still one commit."""
    settings.API_KEY_CACHE = "on"
    assert _place(api_a, "W-WARM").status_code == 201
    with sql_counted() as cost:
        response = _place(api_a, "W-1", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "allocated"
    assert cost.commits == 1, str(cost)
    assert [sql.split()[0].upper() for sql in cost.statements if "SAVEPOINT" in sql.upper()] == [
        "SAVEPOINT",
        "RELEASE",
    ], str(cost)
    assert len(cost.statements) <= BUDGET + 2, str(cost)


def test_a_replayed_key_reads_the_stored_response_and_writes_nothing(api_a, stocked, relay_later):
    first = _place(api_a, "W-1", HTTP_IDEMPOTENCY_KEY="k-1")
    with sql_counted() as cost:
        again = _place(api_a, "W-1", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert cost.commits == 0, str(cost)
    assert Order.objects.unscoped().count() == 1


def test_the_relay_sends_a_placements_outbox_row_in_a_few_statements(api_a, stocked, relay_later):
    from tests.oms.test_outbox import broker

    assert _place(api_a, "W-1").status_code == 201
    with broker("memory://"), sql_counted() as cost:
        outbox.outbox_kick(list(relay_later))
    assert OutboxMessage.objects.get(pk=relay_later[0]).state == "sent"
    assert len(cost.statements) <= (2 if connection.vendor == "postgresql" else 3), str(cost)


def test_the_201_rendered_from_memory_is_what_a_read_of_the_order_shows(api_a, stocked, relay_later):
    placed = _place(api_a, "W-1")
    assert placed.status_code == 201
    read = api_a.get(f"/api/v1/orders/{placed.json()['id']}/")
    assert placed.json() == read.json()
    assert [a["warehouse"] for line in placed.json()["lines"] for a in line["allocations"]]
