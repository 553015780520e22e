"""A price is never negative: not through the admin form, the CSV import, the API or the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from inventory.models import SKU
from tests.inventory.factories import SKUFactory


def test_the_database_refuses_a_negative_price(tenant_a):
    sku = SKUFactory(tenant=tenant_a, code="P-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SKU.objects.for_tenant(tenant_a).filter(pk=sku.pk).update(price=Decimal("-3.00"))


def test_the_admin_form_refuses_a_negative_price(client, owner_a, tenant_a):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:inventory_sku_add"),
        {
            "code": "NEG-1",
            "name": "Refund bait",
            "price": "-3.00",
            "weight_grams": 0,
            "length_mm": 0,
            "width_mm": 0,
            "height_mm": 0,
            "returnable": "on",
            "active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "Amounts cannot be negative." in response.content.decode()
    assert not SKU.objects.for_tenant(tenant_a).filter(code="NEG-1").exists()


def test_the_csv_import_refuses_a_negative_price(client, owner_a, tenant_a):
    client.force_login(owner_a)
    content = b"code,name,price\nNEG-2,Refund bait,-3.00\nOK-2,Stove,4.00\n"
    response = client.post(
        reverse("admin:inventory_sku_import"),
        {"import_file": SimpleUploadedFile("skus.csv", content), "format": 0, "resource": 0},
    )
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    assert "Amounts cannot be negative." in response.content.decode()
    assert not SKU.objects.for_tenant(tenant_a).filter(code__in=["NEG-2", "OK-2"]).exists()


def test_the_api_refuses_a_negative_price(api_a, tenant_a):
    response = api_a.post("/api/v1/skus/", {"code": "NEG-3", "name": "Bait", "price": "-3.00"}, format="json")
    assert response.status_code == 400
    assert "price" in response.json()["fields"]
    assert not SKU.objects.for_tenant(tenant_a).filter(code="NEG-3").exists()
