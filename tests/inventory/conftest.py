"""Inventory fixtures: three warehouses at real US ZIPs, and helpers to stock them."""

from __future__ import annotations

import pytest

from tests.inventory.factories import SKUFactory, WarehouseFactory

# Real ZIPs: Avenel NJ, Los Angeles CA, Dallas TX. From Austin TX (78701) Dallas is nearest.
NJ, CA, TX = "07001", "90001", "75201"
AUSTIN = "78701"


@pytest.fixture
def warehouses(tenant_a):
    """W1 in New Jersey, W2 in Los Angeles, W3 in Dallas."""
    return (
        WarehouseFactory(tenant=tenant_a, code="W1", name="Avenel NJ", postal_code=NJ),
        WarehouseFactory(tenant=tenant_a, code="W2", name="Los Angeles CA", postal_code=CA),
        WarehouseFactory(tenant=tenant_a, code="W3", name="Dallas TX", postal_code=TX),
    )


@pytest.fixture
def sku_a(tenant_a):
    return SKUFactory(tenant=tenant_a, code="SKU-123", name="Trail Runner Shoe")


@pytest.fixture
def sku_b(tenant_a):
    return SKUFactory(tenant=tenant_a, code="SKU-456", name="Merino Hiking Sock")
