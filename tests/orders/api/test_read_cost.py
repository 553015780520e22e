"""What the two hot reads of the storefront API cost PostgreSQL: statements per request.

`GET /api/v1/orders/<id>/` reads the API key (none when Django's cache is shared and holds it:
oms/core/auth.py), then the order in one statement: its customer and addresses, its lines with
their allocations, its active holds, its payments, and whether it has shipments (rows of the
fulfillment room, or shipments recorded on the order). Only an order that has some reads them,
as the fulfillment room reads them (its rows with their lines, parcels and labels, and the
shipments recorded on the order). `GET /api/v1/orders/` reads the API key and one page (cursor
pagination: no count). The counts are exact: a test fails when a change adds a statement, or
when the count grows with the size of the order or of the page (a query per row).
"""

from __future__ import annotations

import pytest
from django.db import connection

from fulfillment.models import FulfillmentSettings
from oms.core.auth import api_key_cache_on
from orders.services import order_create, order_hold, order_record_shipment
from tests.inventory.factories import SKUFactory
from tests.orders.conftest import order_input
from tests.sqlcount import sql_counted


def _key() -> int:
    """The API key's read: none when the cache is shared (Redis) and holds the key."""
    return 0 if api_key_cache_on() else 1


def detail_unshipped() -> int:
    return _key() + 1  # the order, with all it shows but shipments, and whether it has any


def detail_shipped() -> int:
    # the fulfillment room's shipment rows, their lines, parcels and labels, and the shipments
    # recorded on the order
    return detail_unshipped() + 5


def detail_recorded_only() -> int:
    return detail_unshipped() + 2  # no shipment rows (nothing of theirs to read), the recorded ones


def list_page() -> int:
    return _key() + 1


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL's statements"),
]


def _place(tenant, external_id, lines):
    order, _ = order_create(tenant=tenant, data=order_input(external_id, lines=lines))
    return order


def _cost(api, url):
    assert api.get(url).status_code == 200  # the first request notes the API key's use
    with sql_counted() as cost:
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert cost.commits == 0, str(cost)
    return cost, response.json()


def test_an_order_page_costs_the_same_few_statements_whatever_the_order_holds(api_a, tenant_a, stocked):
    small = _place(tenant_a, "W-1", [{"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"}])
    big = _place(
        tenant_a,
        "W-2",
        [
            {"sku": "SKU-123", "quantity": 12, "unit_price": "19.99"},  # split over W2 and W3
            {"sku": "SKU-456", "quantity": 3, "unit_price": "5.00"},
        ],
    )
    order_hold(tenant=tenant_a, order_id=big.pk, kind="manual", reason="look")
    order_hold(tenant=tenant_a, order_id=big.pk, kind="fraud", reason="look again")

    small_cost, small_page = _cost(api_a, f"/api/v1/orders/{small.pk}/")
    big_cost, big_page = _cost(api_a, f"/api/v1/orders/{big.pk}/")

    assert len(small_page["shipments"]) == 1  # released to its warehouse when placed
    assert len(big_page["lines"]) == 2 and len(big_page["lines"][0]["allocations"]) == 2
    assert len(big_page["holds"]) == 2 and small_page["holds"] == []
    assert len(big_page["shipments"]) == 3  # one per warehouse, recalled by the hold
    assert len(small_cost.statements) == detail_shipped(), str(small_cost)
    assert len(big_cost.statements) == detail_shipped(), str(big_cost)


def test_an_order_page_without_shipments_is_one_statement(api_a, tenant_a, stocked):
    FulfillmentSettings.objects.create(tenant=tenant_a, auto_release=False)  # staff release orders
    SKUFactory(tenant=tenant_a, code="SKU-NONE")  # in no warehouse: the order waits for it
    waiting = _place(tenant_a, "W-1", [{"sku": "SKU-NONE", "quantity": 2, "unit_price": "19.99"}])
    lines = [
        {"sku": "SKU-123", "quantity": 12, "unit_price": "19.99"},  # split over W2 and W3
        {"sku": "SKU-456", "quantity": 3, "unit_price": "5.00"},
    ]
    allocated = _place(tenant_a, "W-2", lines)
    order_hold(tenant=tenant_a, order_id=allocated.pk, kind="manual", reason="look")
    order_hold(tenant=tenant_a, order_id=allocated.pk, kind="fraud", reason="look again")

    waiting_cost, waiting_page = _cost(api_a, f"/api/v1/orders/{waiting.pk}/")
    allocated_cost, allocated_page = _cost(api_a, f"/api/v1/orders/{allocated.pk}/")

    assert waiting_page["state"] == "backordered" and waiting_page["shipments"] == []
    assert allocated_page["shipments"] == [] and len(allocated_page["holds"]) == 2
    assert [len(line["allocations"]) for line in allocated_page["lines"]] == [2, 1]
    assert len(waiting_cost.statements) == detail_unshipped(), str(waiting_cost)
    assert len(allocated_cost.statements) == detail_unshipped(), str(allocated_cost)


def test_an_order_page_with_shipments_recorded_on_it_only_reads_those(api_a, tenant_a, stocked):
    FulfillmentSettings.objects.create(tenant=tenant_a, auto_release=False)  # no shipment rows
    order = _place(tenant_a, "W-1", [{"sku": "SKU-456", "quantity": 1, "unit_price": "5.00"}])
    order_record_shipment(tenant=tenant_a, order_id=order.pk, reference="3PL-1", carrier="UPS")

    cost, page = _cost(api_a, f"/api/v1/orders/{order.pk}/")

    assert [(s["id"], s["number"], s["carrier"]) for s in page["shipments"]] == [(None, "3PL-1", "UPS")]
    assert len(cost.statements) == detail_recorded_only(), str(cost)


def test_a_page_of_the_list_costs_the_same_two_statements_whatever_its_size(api_a, tenant_a, stocked):
    for n in range(12):
        _place(tenant_a, f"W-{n}", [{"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"}])
    few, few_page = _cost(api_a, "/api/v1/orders/?limit=2")
    many, many_page = _cost(api_a, "/api/v1/orders/?limit=10")
    after, after_page = _cost(api_a, many_page["next"].split("testserver", 1)[1])
    filtered, filtered_page = _cost(
        api_a, "/api/v1/orders/?state=in_fulfillment,backordered&sku=SKU-123&limit=10"
    )

    assert [len(p["results"]) for p in (few_page, many_page, after_page, filtered_page)] == [2, 10, 2, 10]
    for cost in (few, many, after, filtered):
        assert len(cost.statements) == list_page(), str(cost)
    assert not any("COUNT(" in sql.upper() for sql in many.statements), str(many)
