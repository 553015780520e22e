from __future__ import annotations

import factory

from inventory.models import SKU, StockLevel, Warehouse
from tests.oms.factories import TenantFactory


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Trail item {n}")
    price = "19.99"


class WarehouseFactory(factory.django.DjangoModelFactory):
    """A warehouse at a real US ZIP; coordinates are filled from it, as the service does."""

    class Meta:
        model = Warehouse

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    country = "US"
    postal_code = "07001"

    @factory.lazy_attribute
    def latitude(self):
        from inventory.geo import geocode

        found = geocode(self.country, self.postal_code)
        return None if found is None else round(found[0], 6)

    @factory.lazy_attribute
    def longitude(self):
        from inventory.geo import geocode

        found = geocode(self.country, self.postal_code)
        return None if found is None else round(found[1], 6)


def stock(tenant, sku, warehouse, on_hand, **fields):
    """Stock put in through the service, so the ledger agrees with on_hand."""
    from inventory.services import stock_receive

    if on_hand:
        return stock_receive(
            tenant=tenant, sku_id=sku.pk, warehouse_id=warehouse.pk, quantity=on_hand, reference="setup"
        )
    level, _ = StockLevel.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, sku=sku, warehouse=warehouse, defaults=fields
    )
    return level
