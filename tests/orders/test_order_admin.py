"""The order blotter: scoped to the tenant, filters, search, bulk actions, the order page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Allocation, Order
from orders.services import order_create
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def orders_of_both(tenant_a, tenant_b, stocked, owner_a, owner_b):
    mine, _ = order_create(tenant=tenant_a, data=order_input("ACME-ORDER-1"))
    wh = WarehouseFactory(tenant=tenant_b, code="GX1", postal_code="10118")
    sku = SKUFactory(tenant=tenant_b, code="SKU-123", name="Globex secret item")
    stock(tenant_b, sku, wh, 3)
    theirs, _ = order_create(tenant=tenant_b, data=order_input("GLOBEX-ORDER-1"))
    return mine, theirs


def test_blotter_lists_only_own_orders(client, owner_a, orders_of_both):
    client.force_login(owner_a)
    body = client.get(CHANGELIST).content.decode()
    assert "ACME-ORDER-1" in body
    assert "GLOBEX-ORDER-1" not in body
    assert "state-badge" in body


def test_search_finds_by_external_id_email_and_sku_but_never_across_tenants(client, owner_a, orders_of_both):
    client.force_login(owner_a)
    for term in ("ACME-ORDER-1", "ana@example.com", "SKU-123"):
        assert "ACME-ORDER-1" in client.get(CHANGELIST, {"q": term}).content.decode(), term
    found = client.get(CHANGELIST, {"q": "GLOBEX-ORDER-1"}).context["cl"].result_list
    assert list(found) == []


def test_state_filter(client, owner_a, orders_of_both):
    client.force_login(owner_a)
    assert "ACME-ORDER-1" in client.get(CHANGELIST, {"state__exact": "allocated"}).content.decode()
    assert "ACME-ORDER-1" not in client.get(CHANGELIST, {"state__exact": "cancelled"}).content.decode()


def test_order_page_shows_timeline_lines_and_allocation_plan(client, owner_a, orders_of_both):
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    body = client.get(reverse("admin:orders_order_change", args=[mine.pk])).content.decode()
    assert "Timeline" in body and "Order placed through web" in body
    assert "single_nearest" in body and "W3" in body
    other = client.get(reverse("admin:orders_order_change", args=[theirs.pk]), follow=True).content.decode()
    assert "GLOBEX-ORDER-1" not in other


def test_bulk_hold_and_cancel_go_through_services(client, owner_a, orders_of_both, tenant_a):
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    form = client.post(CHANGELIST, {"action": "hold_orders", "_selected_action": [mine.pk, theirs.pk]})
    assert form.status_code == 200
    assert [o.pk for o in form.context["orders"]] == [mine.pk]  # another tenant's id is not even listed
    client.post(
        CHANGELIST,
        {
            "action": "hold_orders",
            "_selected_action": [mine.pk, theirs.pk],
            "apply": "1",
            "kind": "fraud",
            "reason": "Card country differs from ship-to",
        },
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.state == "on_hold"
    assert mine.holds.get().reason == "Card country differs from ship-to"
    assert theirs.state == "allocated"  # another tenant's id in the POST is ignored
    client.post(
        CHANGELIST,
        {"action": "cancel_orders", "_selected_action": [mine.pk], "apply": "1", "reason": "Customer asked"},
    )
    mine.refresh_from_db()
    assert mine.state == "cancelled"
    assert mine.events.filter(type="cancelled").get().actor == "user:owner@acme.test"


def _export_form_data(page):
    """The export page's form as a browser submits it: CSV, every column ticked, the chosen orders."""
    form = page.context["form"]
    data = {"format": "0", "resource": "0"}
    for name, field in form.fields.items():
        if getattr(field, "is_selectable_field", False) and field.initial:
            data[name] = "on"
    data["export_items"] = [str(pk) for pk in form.initial.get("export_items", [])]
    return data


def test_export_selected_orders_in_two_steps_contains_only_own_orders(client, owner_a, orders_of_both):
    """The merchant's flow: tick orders, "Export selected", choose the format and columns, download."""
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    every_id = list(Order.objects.unscoped().values_list("pk", flat=True))
    page = client.post(CHANGELIST, {"action": "export_admin_action", "_selected_action": every_id})
    assert page.status_code == 200
    assert page.context["form"].initial["export_items"] == [mine.pk]  # another tenant's id is dropped
    data = _export_form_data(page)
    data["export_items"].append(str(theirs.pk))  # a forged id is not a valid choice
    refused = client.post(page.context["export_url"], data)
    assert refused.status_code == 200 and "export_items" in refused.context["form"].errors

    data["export_items"] = [str(mine.pk)]
    response = client.post(page.context["export_url"], data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = response.content.decode()
    assert "ACME-ORDER-1" in content and "customer_email" in content
    assert "GLOBEX-ORDER-1" not in content


def test_export_button_on_the_order_page_exports_that_order(client, owner_a, orders_of_both):
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    url = reverse("admin:orders_order_change", args=[mine.pk])
    assert 'name="_export-item"' in client.get(url).content.decode()
    page = client.post(url, {"_export-item": "Export"})
    assert page.status_code == 200
    assert page.context["form"].initial["export_items"] == [mine.pk]
    response = client.post(page.context["export_url"], _export_form_data(page))
    assert "ACME-ORDER-1" in response.content.decode()
    other = client.post(reverse("admin:orders_order_change", args=[theirs.pk]), {"_export-item": "Export"})
    assert other.status_code == 404


def test_warehouse_staff_cannot_export_orders(client, warehouse_a, orders_of_both):
    mine, _ = orders_of_both
    client.force_login(warehouse_a)
    url = reverse("admin:orders_order_change", args=[mine.pk])
    assert 'name="_export-item"' not in client.get(url).content.decode()
    assert client.post(url, {"_export-item": "Export"}).status_code == 403
    assert client.get(reverse("admin:orders_order_export")).status_code == 403


def test_orders_cannot_be_added_or_deleted_in_the_admin(client, owner_a, orders_of_both):
    mine, _ = orders_of_both
    client.force_login(owner_a)
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    assert (
        client.post(reverse("admin:orders_order_delete", args=[mine.pk]), {"post": "yes"}).status_code == 403
    )


def test_bulk_ship_records_a_shipment_for_own_orders_only(client, owner_a, orders_of_both):
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    client.post(CHANGELIST, {"action": "ship_orders", "_selected_action": [mine.pk, theirs.pk]})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.state == "shipped"
    assert theirs.state == "allocated"


def test_support_agent_fixes_the_ship_to_and_the_order_is_reallocated(
    client, owner_a, orders_of_both, tenant_a
):
    mine, theirs = orders_of_both
    client.force_login(owner_a)
    page = client.get(reverse("admin:orders_order_change", args=[mine.pk])).content.decode()
    url = reverse("admin:orders_order_ship_to", args=[mine.pk])
    assert url in page
    bad = client.post(
        url, {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "ABCDE", "country": "US"}
    )
    assert bad.status_code == 200 and "not a valid postal code" in bad.content.decode()
    good = client.post(
        url, {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "us"}
    )
    assert good.status_code == 302
    mine.refresh_from_db()
    assert (mine.ship_to.city, mine.ship_to.country) == ("Los Angeles", "US")
    assert [
        a.warehouse.code for a in Allocation.objects.for_tenant(tenant_a).filter(order_line__order=mine)
    ] == ["W2"]
    assert mine.events.filter(type="edited").exists()
    assert client.get(reverse("admin:orders_order_ship_to", args=[theirs.pk])).status_code == 404


def test_ship_to_cannot_change_once_fulfillment_began(client, owner_a, orders_of_both):
    mine, _ = orders_of_both
    Order.objects.for_tenant(mine.tenant_id).filter(pk=mine.pk).update(state="shipped")
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "US"},
    )
    assert response.status_code == 200
    assert "can no longer be edited" in response.content.decode()
    mine.refresh_from_db()
    assert mine.ship_to.city == "Austin"
