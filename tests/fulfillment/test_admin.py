"""Fulfillment in the admin: what staff see of shipments, pick lists, settings and assignments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.models import FulfillmentSettings, WarehouseAssignment
from oms.models import Membership, Role
from tests.worlds import build_world, staff


@pytest.fixture
def worlds(tenant_a, tenant_b):
    return build_world(tenant_a, "ACME"), build_world(tenant_b, "GLOBEX")


def test_shipments_list_links_order_tracking_and_label(client, worlds):
    acme, _ = worlds
    client.force_login(acme["owner"])
    page = client.get(reverse("admin:fulfillment_shipment_changelist")).content.decode()
    shipment = acme["shipment"]
    assert reverse("admin:orders_order_change", args=[shipment.order_id]) in page
    assert 'href="https://track.example/acme/1"' in page and "ACME-TRK-1" in page
    assert 'href="https://labels.example/acme/1.pdf"' in page
    assert "Label purchased" in page


def test_shipments_filter_by_state_warehouse_and_the_tenants_own_carriers(client, worlds):
    acme, _ = worlds
    client.force_login(acme["owner"])
    url = reverse("admin:fulfillment_shipment_changelist")
    page = client.get(url).content.decode()
    assert "?carrier=ACME+post" in page and "GLOBEX post" not in page
    by_warehouse = {"warehouse__id__exact": acme["warehouse"].pk}
    for query in ({"carrier": "ACME post"}, {"state": "label_purchased"}, by_warehouse):
        rows = list(client.get(url, query).context["cl"].result_list)
        assert rows == [acme["shipment"]], query
    assert list(client.get(url, {"state": "delivered"}).context["cl"].result_list) == []


def test_a_shipment_page_shows_lines_parcels_labels_and_tracking_read_only(client, worlds):
    acme, _ = worlds
    client.force_login(acme["owner"])
    response = client.get(reverse("admin:fulfillment_shipment_change", args=[acme["shipment"].pk]))
    assert response.status_code == 200 and not response.context["has_change_permission"]
    page = response.content.decode()
    for text in ("SKU-123", "1200", "acme:shp", "ACME label created", "PRE_TRANSIT"):
        assert text in page, text
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission and not inline.has_change_permission, inline.opts


def test_an_agent_sees_shipments_but_not_settings_changes(client, tenant_a, worlds):
    agent = staff(tenant_a, Role.AGENT, "agent@acme.test")
    client.force_login(agent)
    assert client.get(reverse("admin:fulfillment_shipment_changelist")).status_code == 200
    assert client.get(reverse("admin:fulfillment_fulfillmentsettings_changelist")).status_code == 403
    assert client.get(reverse("admin:fulfillment_warehouseassignment_changelist")).status_code == 403


def test_settings_are_made_with_the_defaults_the_first_time_the_owner_opens_them(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.get(reverse("admin:fulfillment_fulfillmentsettings_changelist"))
    [row] = response.context["cl"].result_list
    assert row.tenant_id == tenant_a.pk and row.rate_policy == "cheapest"
    client.get(reverse("admin:fulfillment_fulfillmentsettings_changelist"))
    assert FulfillmentSettings.objects.for_tenant(tenant_a).count() == 1
    change = reverse("admin:fulfillment_fulfillmentsettings_change", args=[row.pk])
    saved = client.post(
        change,
        {
            "rate_policy": "fastest",
            "label_file_type": "PDF_4x6",
            "carrier_provider": "shippo",
            "auto_release": "on",
            "pick_list_size": "20",
            "quiet_tracking_hours": "12",
            "shipped_email_subject": "On its way",
        },
    )
    assert saved.status_code == 302
    row.refresh_from_db()
    assert (row.rate_policy, row.auto_pick_lists, row.pick_list_size) == ("fastest", False, 20)


def test_an_owner_assigns_a_picker_to_a_warehouse_on_the_members_page(client, tenant_a, worlds):
    acme, _ = worlds
    client.force_login(acme["owner"])
    newcomer = staff(tenant_a, Role.WAREHOUSE, "newcomer@acme.test")
    membership = Membership.objects.for_tenant(tenant_a).get(user=newcomer)
    url = reverse("admin:oms_membership_change", args=[membership.pk])
    page = client.get(url)
    assert "Warehouses they work in" in page.content.decode()
    assert "GLOBEX" not in page.content.decode()
    [inline] = page.context["inline_admin_formsets"]
    prefix = inline.formset.prefix
    saved = client.post(
        url,
        {
            "role": "warehouse",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-warehouse": str(acme["warehouse"].pk),
        },
    )
    assert saved.status_code == 302
    [assignment] = WarehouseAssignment.objects.for_tenant(tenant_a).filter(membership=membership)
    assert assignment.warehouse == acme["warehouse"]
    # The add page invites by email: no warehouses there yet.
    assert "Warehouses they work in" not in client.get(reverse("admin:oms_membership_add")).content.decode()


def test_another_tenants_warehouse_cannot_be_assigned(client, tenant_a, worlds):
    acme, globex = worlds
    client.force_login(acme["owner"])
    response = client.post(
        reverse("admin:fulfillment_warehouseassignment_add"),
        {"membership": acme["assignment"].membership_id, "warehouse": globex["warehouse"].pk},
    )
    assert response.status_code == 200
    assert "warehouse" in response.context["adminform"].form.errors
    assert WarehouseAssignment.objects.for_tenant(tenant_a).count() == 1
