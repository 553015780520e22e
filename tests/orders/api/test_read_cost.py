"""What the two hot reads of the storefront API cost PostgreSQL: statements per request.

`GET /api/v1/orders/<id>/` reads the API key, the order (customer and addresses joined), its
lines with their allocations, its active holds, its payments, and its shipments as the
fulfillment room reads them (its shipment rows and the shipments recorded on the order; the
rows' lines, parcels and labels only when there are rows). `GET /api/v1/orders/` reads the API
key and one page (cursor pagination: no count). The budgets are what the code reaches: a test
fails when a change adds a statement, or when the count grows with the size of the order or of
the page (a query per row).
"""

from __future__ import annotations

import pytest
from django.db import connection

from orders.services import order_create, order_hold
from tests.inventory.factories import SKUFactory
from tests.orders.conftest import order_input
from tests.sqlcount import sql_counted

# key, order, lines with allocations, holds, payments; the fulfillment room's shipment rows, their
# lines, parcels and labels, and the shipments recorded on the order
DETAIL_BUDGET = 10
DETAIL_UNSHIPPED_BUDGET = 7  # no shipment rows: none of their lines, parcels and labels
LIST_BUDGET = 2  # key, page

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
    assert len(small_cost.statements) <= DETAIL_BUDGET, str(small_cost)
    assert len(big_cost.statements) == len(small_cost.statements), str(big_cost)


def test_an_order_page_without_shipments_skips_their_details(api_a, tenant_a, stocked):
    SKUFactory(tenant=tenant_a, code="SKU-NONE")  # in no warehouse: the order waits for it
    order = _place(tenant_a, "W-1", [{"sku": "SKU-NONE", "quantity": 2, "unit_price": "19.99"}])
    cost, page = _cost(api_a, f"/api/v1/orders/{order.pk}/")
    assert page["state"] == "backordered" and page["shipments"] == []
    assert len(cost.statements) <= DETAIL_UNSHIPPED_BUDGET, str(cost)


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
        assert len(cost.statements) <= LIST_BUDGET, str(cost)
    assert not any("COUNT(" in sql.upper() for sql in many.statements), str(many)
