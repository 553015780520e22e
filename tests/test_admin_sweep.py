"""Every admin changelist of a tenant-owned model, with both tenants' data present, shows only
the signed-in staff member's tenant; and every change form of another tenant's row is refused."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from integrations.inbox import inbound_event_reject
from inventory.allocation import ShipTo
from inventory.services import inbound_create, reservation_create
from oms.core.audit import audit_record
from oms.core.models import TenantOwned
from orders.payments.services import payment_authorize
from orders.services import order_create, order_hold
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input
from tests.orders.payments.factories import make_stripe_account


def _world(tenant, code_prefix):
    warehouse = WarehouseFactory(tenant=tenant, code=f"{code_prefix}-WH", postal_code="75201")
    sku = SKUFactory(tenant=tenant, code="SKU-123", name=f"{code_prefix} shoe")
    stock(tenant, sku, warehouse, 10)
    order, _ = order_create(tenant=tenant, data=order_input(f"{code_prefix}-ORDER"))
    order_hold(tenant=tenant, order_id=order.pk, kind="fraud", reason=f"{code_prefix} review")
    payment_authorize(tenant=tenant, order=order, provider="sandbox", payment_method="pm_card_visa")
    reservation_create(
        tenant=tenant, lines=[(sku.pk, 1)], ship_to=ShipTo(country="US", postal_code="78701"), ttl_seconds=600
    )
    inbound_create(
        tenant=tenant, warehouse_id=warehouse.pk, lines=[(sku.pk, 5)], reference=f"{code_prefix}-PO"
    )
    audit_record(tenant=tenant, actor=None, action=f"{code_prefix}.event", object_type="x", object_id="1")
    account = make_stripe_account(tenant, "http://127.0.0.1:9")
    inbound_event_reject(
        account=account, headers={}, body=f'{{"id": "{code_prefix}-evt"}}', error="signature"
    )
    return order


TENANT_ADMINS = sorted(
    (model for model in admin.site._registry if issubclass(model, TenantOwned)), key=lambda m: m._meta.label
)


@pytest.fixture
def both_worlds(tenant_a, tenant_b, owner_a, owner_b, key_a, key_b):
    return _world(tenant_a, "ACME"), _world(tenant_b, "GLOBEX")


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_changelist_shows_only_own_rows(client, owner_a, tenant_a, tenant_b, both_worlds, model):
    client.force_login(owner_a)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url)
    assert response.status_code in (200, 403), url  # 403: the owner's role may not see it at all
    if response.status_code == 200:
        rows = list(response.context["cl"].result_list)
        assert all(row.tenant_id == tenant_a.pk for row in rows), url
        assert "GLOBEX" not in response.content.decode(), url


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_change_form_of_another_tenants_row_is_refused(client, owner_a, tenant_b, both_worlds, model):
    theirs = model._base_manager.filter(tenant=tenant_b).first()
    if theirs is None:
        pytest.skip(f"no {model._meta.label} row for the other tenant in this world")
    client.force_login(owner_a)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[theirs.pk])
    response = client.get(url, follow=True)
    assert "GLOBEX" not in response.content.decode(), url
    post = client.post(url, {"name": "hijacked"})
    assert post.status_code in (302, 403, 404), url
    theirs.refresh_from_db()
    assert getattr(theirs, "name", "") != "hijacked"
