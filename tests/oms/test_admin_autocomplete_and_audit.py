"""Admin autocomplete is tenant-scoped, and admin edits leave an audit trail."""

from __future__ import annotations

from django.urls import reverse

from oms.models import AuditEvent
from tests.inventory.factories import SKUFactory, WarehouseFactory


def test_autocomplete_offers_only_own_rows(client, owner_a, tenant_a, tenant_b):
    SKUFactory(tenant=tenant_a, code="AC-MINE", name="Acme boot")
    SKUFactory(tenant=tenant_b, code="AC-THEIRS", name="Globex boot")
    client.force_login(owner_a)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "boot", "app_label": "inventory", "model_name": "stocklevel", "field_name": "sku"},
    )
    assert response.status_code == 200
    texts = [row["text"] for row in response.json()["results"]]
    assert any("AC-MINE" in t for t in texts)
    assert not any("AC-THEIRS" in t for t in texts)


def test_stock_level_add_form_offers_only_own_choices(client, owner_a, tenant_a, tenant_b):
    WarehouseFactory(tenant=tenant_a, code="WH-MINE")
    WarehouseFactory(tenant=tenant_b, code="WH-THEIRS")
    SKUFactory(tenant=tenant_b, code="SKU-THEIRS")
    client.force_login(owner_a)
    body = client.get(reverse("admin:inventory_stocklevel_add")).content.decode()
    assert "WH-THEIRS" not in body and "SKU-THEIRS" not in body


def test_admin_edit_is_audited_with_before_and_after(client, owner_a, tenant_a):
    sku = SKUFactory(tenant=tenant_a, code="AUD-1", name="Old name", price="5.00")
    client.force_login(owner_a)
    url = reverse("admin:inventory_sku_change", args=[sku.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields
    }
    data.update({"name": "New name", "stock_levels-TOTAL_FORMS": "0", "stock_levels-INITIAL_FORMS": "0"})
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    event = AuditEvent.objects.for_tenant(tenant_a).get(action="sku.changed_in_admin")
    assert event.before == {"name": "Old name"} and event.after == {"name": "New name"}
    assert event.actor == "user:owner@acme.test"
