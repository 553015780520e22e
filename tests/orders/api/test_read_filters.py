"""The order list's filters by a tenant's own keys (`email`, `sku`, `external_id`) find that
tenant's orders only, when another tenant has a customer with the same email, a SKU with the
same code and an order with the same external id. (On PostgreSQL each of them is an index read:
the customer and the SKU by their unique keys, the external id by `order_external_id_idx`;
docs/performance.md.)
"""

from __future__ import annotations

import pytest

from orders.services import order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(tenant_a, tenant_b, stocked):
    """Tenant A's orders W-1 (ana, SKU-123) and W-2 (bo, SKU-456); tenant B's W-1 (ana, SKU-123)."""
    sku_b = SKUFactory(tenant=tenant_b, code="SKU-123")
    stock(tenant_b, sku_b, WarehouseFactory(tenant=tenant_b, code="W1"), 10)

    def place(tenant, external_id, email, sku):
        lines = [{"sku": sku, "quantity": 1, "unit_price": "9.99"}]
        customer = {"email": email, "name": ""}
        order, _ = order_create(tenant=tenant, data=order_input(external_id, lines=lines, customer=customer))
        return order.pk

    return {
        "a1": place(tenant_a, "W-1", "ana@example.com", "SKU-123"),
        "a2": place(tenant_a, "W-2", "bo@example.com", "SKU-456"),
        "b1": place(tenant_b, "W-1", "ana@example.com", "SKU-123"),
    }


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("email=ana@example.com", ["a1"]),
        ("email=%20Ana@Example.com%20", ["a1"]),  # as the customer's email is kept: trimmed, lower case
        ("sku=SKU-123", ["a1"]),
        ("sku=SKU-456", ["a2"]),
        ("external_id=W-1", ["a1"]),
        ("external_id=W-2&email=bo@example.com&sku=SKU-456", ["a2"]),
        ("external_id=W-1&sku=SKU-456", []),
        ("email=nobody@example.com", []),
        ("sku=NO-SUCH-SKU", []),
    ],
)
def test_a_filter_finds_the_tenants_own_orders_only(api_a, api_b, twins, query, found):
    answered = api_a.get(f"/api/v1/orders/?{query}")
    assert answered.status_code == 200, answered.content
    assert [row["id"] for row in answered.json()["results"]] == [str(twins[name]) for name in found]


def test_the_other_tenant_finds_its_own(api_b, twins):
    for query in ("email=ana@example.com", "sku=SKU-123", "external_id=W-1"):
        rows = api_b.get(f"/api/v1/orders/?{query}").json()["results"]
        assert [row["id"] for row in rows] == [str(twins["b1"])], query
