"""Order fixtures: the inventory fixtures (W1 NJ, W2 LA, W3 Dallas; SKU-123, SKU-456) plus order helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.inventory.conftest import sku_a, sku_b, warehouses  # noqa: F401  (fixtures)
from tests.inventory.factories import stock

AUSTIN = {
    "name": "Ana Lima",
    "line1": "1 Main St",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
}


def order_payload(external_id="W-1001", lines=None, **extra):
    body = {
        "channel": "web",
        "external_id": external_id,
        "currency": "USD",
        "customer": {"email": "ana@example.com", "name": "Ana Lima"},
        "ship_to": dict(AUSTIN),
        "lines": lines or [{"sku": "SKU-123", "quantity": 2, "unit_price": "19.99"}],
        "shipping_price": "5.00",
    }
    body.update(extra)
    return body


def order_input(external_id="W-1001", lines=None, **extra):
    from orders.services import LineInput, OrderInput

    body = order_payload(external_id, lines, **extra)
    body["lines"] = [
        LineInput(sku=x["sku"], quantity=x["quantity"], unit_price=Decimal(x["unit_price"]))
        for x in body["lines"]
    ]
    body["shipping_price"] = Decimal(body["shipping_price"])
    return OrderInput(**body)


@pytest.fixture
def stocked(tenant_a, warehouses, sku_a, sku_b):  # noqa: F811
    """W1: 0, W2: 5, W3: 10 of SKU-123; SKU-456 only in W1 (4)."""
    w1, w2, w3 = warehouses
    stock(tenant_a, sku_a, w2, 5)
    stock(tenant_a, sku_a, w3, 10)
    stock(tenant_a, sku_b, w1, 4)
    return warehouses
