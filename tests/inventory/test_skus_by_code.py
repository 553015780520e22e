"""inventory.selectors.skus_by_code: on PostgreSQL a statement written once, the ORM's SKUs."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from inventory.models import SKU
from inventory.selectors import skus_by_code
from tests.inventory.factories import SKUFactory

pytestmark = pytest.mark.django_db


def _fields(sku):
    return {**model_to_dict(sku), "pk": sku.pk, "created_at": sku.created_at, "updated_at": sku.updated_at}


def test_the_skus_read_are_the_orms_and_only_the_tenants(tenant_a, tenant_b, sku_a, sku_b):
    SKUFactory(tenant=tenant_b, code="SKU-123")  # the same code, another tenant's
    sku_b.lead_time_days, sku_b.active = 7, False
    sku_b.save()
    found = skus_by_code(tenant=tenant_a, codes=["SKU-123", "SKU-456", "SKU-123", "NOPE"])
    assert sorted(found) == ["SKU-123", "SKU-456"]
    for code, sku in found.items():
        reference = SKU.objects.for_tenant(tenant_a).get(code=code)
        assert _fields(sku) == _fields(reference)
        assert not sku._state.adding
    assert found["SKU-456"].lead_time_days == 7 and found["SKU-456"].active is False
