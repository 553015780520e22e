"""Fulfillment fixtures: the order fixtures (W1 NJ, W2 LA, W3 Dallas; SKU-123, SKU-456; `stocked`)."""

from tests.orders.conftest import sku_a, sku_b, stocked, warehouses  # noqa: F401  (fixtures)
