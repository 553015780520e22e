"""Fulfillment in the admin: what staff see of shipments, pick lists, settings and assignments."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from fulfillment import admin as fulfillment_admin
from fulfillment.models import FulfillmentSettings, PickList, Shipment, WarehouseAssignment
from fulfillment.services import shipment_ship
from oms.models import Membership, Role
from tests.fulfillment.floor import SHOES_AND_SOCK, fresh, place, released
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


# --- actions and the "ship these" page --------------------------------------------------------
def _changelist_action(client, name, ids, **extra):
    return client.post(
        reverse("admin:fulfillment_shipment_changelist"), {"action": name, "_selected_action": ids, **extra}
    )


def _ship_page(client, shipments):
    return client.get(
        reverse("admin:fulfillment_shipment_ship"), {"ids": ",".join(str(s.pk) for s in shipments)}
    )


def _rows(shipments, header="", **per_row):
    data = {
        "all-carrier": header,
        "rows-TOTAL_FORMS": str(len(shipments)),
        "rows-INITIAL_FORMS": str(len(shipments)),
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "200",
    }
    for index, shipment in enumerate(shipments):
        data[f"rows-{index}-shipment"] = str(shipment.pk)
        for name, values in per_row.items():
            data[f"rows-{index}-{name}"] = values[index]
    return data


def test_ship_these_enter_review_confirm(client, tenant_a, owner_a, stocked):
    first, second = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    client.force_login(owner_a)
    chosen = _changelist_action(client, "ship_selected", [first.pk, second.pk])
    assert chosen.status_code == 302
    page = client.get(chosen["Location"])
    assert page.status_code == 200 and [f.target for f in page.context["rows"].forms] == [first, second]
    url = chosen["Location"]

    # one row with a carrier and tracking, one left blank: the page's carrier, no tracking
    data = _rows(
        [first, second],
        header="Own van",
        carrier=["UPS", ""],
        tracking_number=["1Z1", ""],
        tracking_url=["", ""],
    )
    review = client.post(url, {**data, "review": "1"})
    assert review.status_code == 200 and review.context["confirming"]
    text = review.content.decode()
    assert "no tracking" in text and "Own van" in text and "cannot be undone" in text
    assert set(Shipment.objects.for_tenant(tenant_a).values_list("state", flat=True)) == {"pending"}

    done = client.post(url, {**data, "confirm": "1"})
    assert done.status_code == 302
    first, second = fresh(first), fresh(second)
    assert (first.state, first.carrier, first.tracking_number) == ("shipped", "UPS", "1Z1")
    assert (second.state, second.carrier, second.tracking_number) == ("shipped", "Own van", "")
    assert fresh(first.order).state == "shipped"
    shown = [
        str(m)
        for m in get_messages(client.get(reverse("admin:fulfillment_shipment_changelist")).wsgi_request)
    ]
    assert "Shipped 2 shipment(s)." in shown


def test_ship_these_asks_for_a_carrier_when_a_row_has_none(client, tenant_a, owner_a, stocked):
    [shipment] = released(tenant_a)
    client.force_login(owner_a)
    url = _ship_page(client, [shipment]).wsgi_request.get_full_path()
    data = _rows([shipment], carrier=[""], tracking_number=[""], tracking_url=[""])
    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 200 and not response.context["confirming"]
    assert "Say which carrier took it" in response.content.decode()
    assert fresh(shipment).state == "pending"


def test_ship_these_offers_only_open_shipments(client, tenant_a, owner_a, stocked):
    mine = released(tenant_a)[0]
    shipped = released(tenant_a, "W-2")[0]
    shipment_ship(tenant=tenant_a, shipment_id=shipped.pk, carrier="UPS")
    client.force_login(owner_a)
    page = _ship_page(client, [mine, shipped])
    assert [f.target for f in page.context["rows"].forms] == [mine]
    assert page.context["asked"] == 2
    # a forged row naming a shipment the page did not offer is refused, and nothing ships
    url = page.wsgi_request.get_full_path()
    forged = _rows([mine, shipped], carrier=["UPS", "UPS"], tracking_number=["", ""], tracking_url=["", ""])
    response = client.post(url, {**forged, "confirm": "1"})
    assert response.status_code == 200 and fresh(mine).state == "pending"


def test_buy_labels_and_cancel_from_the_shipments_list(client, tenant_a, owner_a, stocked, monkeypatch):
    first, second = released(tenant_a, "SPLIT", SHOES_AND_SOCK)
    asked = []
    monkeypatch.setattr(fulfillment_admin, "label_request", lambda **kw: asked.append(kw["shipment_id"]))
    client.force_login(owner_a)
    _changelist_action(client, "buy_labels", [first.pk])
    assert asked == [first.pk]

    form = _changelist_action(client, "cancel_shipments", [first.pk, second.pk])
    assert form.status_code == 200 and "Cancel 2 shipment(s)" in form.content.decode()
    assert fresh(first).state == "pending"
    _changelist_action(client, "cancel_shipments", [first.pk, second.pk], apply="1", reason="customer called")
    assert (fresh(first).state, fresh(first).cancel_reason) == ("cancelled", "customer called")
    assert fresh(second).state == "cancelled"


def test_a_refused_action_says_which_row_and_why(client, tenant_a, owner_a, stocked):
    [shipment] = released(tenant_a)
    shipment_ship(tenant=tenant_a, shipment_id=shipment.pk, carrier="UPS")
    client.force_login(owner_a)
    response = _changelist_action(client, "cancel_shipments", [shipment.pk], apply="1", reason="late")
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith(f"Not changed: {shipment.number}:") for m in shown)
    assert fresh(shipment).state == "shipped"


def test_orders_are_released_and_shipped_from_the_order_blotter(client, tenant_a, owner_a, stocked):
    order = place(tenant_a)
    client.force_login(owner_a)
    orders = reverse("admin:orders_order_changelist")
    client.post(orders, {"action": "release_to_warehouse", "_selected_action": [order.pk]})
    [shipment] = Shipment.objects.for_tenant(tenant_a).filter(order=order)
    assert fresh(order).state == "in_fulfillment"
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert reverse("admin:fulfillment_shipment_change", args=[shipment.pk]) in page

    other = place(tenant_a, "W-2")  # not released yet: "ship" releases it first
    chosen = client.post(orders, {"action": "ship_with_tracking", "_selected_action": [order.pk, other.pk]})
    assert chosen.status_code == 302
    offered = [f.target for f in client.get(chosen["Location"]).context["rows"].forms]
    assert [s.order_id for s in offered] == [order.pk, other.pk]


def test_warehouse_staff_and_agents_cannot_ship_cancel_or_release(client, tenant_a, stocked):
    [shipment] = released(tenant_a)
    for role in (Role.AGENT, Role.WAREHOUSE):
        user = staff(tenant_a, role, f"{role}@acme.test")
        client.force_login(user)
        assert client.get(reverse("admin:fulfillment_shipment_ship"), {"ids": shipment.pk}).status_code == 403
        _changelist_action(client, "cancel_shipments", [shipment.pk], apply="1", reason="x")
        assert fresh(shipment).state == "pending"


def test_ship_these_never_offers_another_tenants_shipment(client, worlds):
    acme, globex = worlds
    client.force_login(acme["owner"])
    theirs = globex["shipment"]
    page = _ship_page(client, [theirs])
    assert page.status_code == 200 and page.context["rows"].forms == []
    assert "globex" not in page.content.decode().lower()
    forged = _rows([theirs], carrier=["UPS"], tracking_number=[""], tracking_url=[""])
    client.post(page.wsgi_request.get_full_path(), {**forged, "confirm": "1"})
    assert fresh(theirs).state == "label_purchased"


# --- pick lists -------------------------------------------------------------------------------
def test_a_pick_list_is_made_from_filters(client, tenant_a, owner_a, stocked):
    _, _, w3 = stocked
    express = released(tenant_a, "EXP")[0]
    Shipment.objects.for_tenant(tenant_a).filter(pk=express.pk).update(service_level="express")
    standard = released(tenant_a, "STD")[0]
    client.force_login(owner_a)
    add = reverse("admin:fulfillment_picklist_add")
    page = client.get(add)
    assert page.status_code == 200 and "W3" in page.content.decode()
    made = client.post(add, {"warehouse": w3.pk, "kind": "batch", "service_level": "express", "limit": "10"})
    assert made.status_code == 302
    pick_list = PickList.objects.for_tenant(tenant_a).get()
    assert made["Location"] == reverse("admin:fulfillment_picklist_change", args=[pick_list.pk])
    assert (fresh(express).state, fresh(express).pick_list_id) == ("picking", pick_list.pk)
    assert (fresh(standard).state, fresh(standard).pick_list_id) == ("pending", None)
    shown = client.get(made["Location"]).content.decode()
    assert express.number in shown and standard.number not in shown
    assert reverse("warehouse:pick_list", args=[w3.pk, pick_list.pk]) in shown


def test_a_pick_list_with_nothing_to_pick_says_so(client, tenant_a, owner_a, stocked):
    _, _, w3 = stocked
    released(tenant_a)
    client.force_login(owner_a)
    add = reverse("admin:fulfillment_picklist_add")
    response = client.post(add, {"warehouse": w3.pk, "kind": "batch", "carrier": "Nobody", "limit": "10"})
    assert response.status_code == 200
    assert "No pending shipment in W3" in response.content.decode()
    assert not PickList.objects.for_tenant(tenant_a).exists()


def test_pick_lists_are_made_only_for_the_tenants_warehouses_and_by_managers(client, tenant_a, worlds):
    acme, globex = worlds
    client.force_login(acme["owner"])
    add = reverse("admin:fulfillment_picklist_add")
    response = client.post(add, {"warehouse": globex["warehouse"].pk, "kind": "batch", "limit": "10"})
    assert response.status_code == 200 and "warehouse" in response.context["form"].errors
    assert PickList.objects.for_tenant(globex["tenant"]).count() == 1
    picker = staff(tenant_a, Role.WAREHOUSE, "floor@acme.test")
    client.force_login(picker)
    assert client.get(add).status_code == 403
    assert client.get(reverse("admin:fulfillment_picklist_changelist")).status_code == 200


def test_an_email_template_that_does_not_render_is_refused(client, tenant_a, owner_a):
    client.force_login(owner_a)
    client.get(reverse("admin:fulfillment_fulfillmentsettings_changelist"))
    row = FulfillmentSettings.objects.for_tenant(tenant_a).get()
    page = client.get(reverse("admin:fulfillment_fulfillmentsettings_change", args=[row.pk]))
    assert "{{ tracking_url }}" in page.content.decode()
    data = {
        "rate_policy": "cheapest",
        "label_file_type": "PDF_4x6",
        "carrier_provider": "shippo",
        "pick_list_size": "50",
        "quiet_tracking_hours": "24",
        "shipped_email_body": "Hello {% if %}",
    }
    response = client.post(reverse("admin:fulfillment_fulfillmentsettings_change", args=[row.pk]), data)
    assert response.status_code == 200
    assert "does not render" in str(response.context["adminform"].form.errors["shipped_email_body"])
    row.refresh_from_db()
    assert row.shipped_email_body == ""
    good = {**data, "shipped_email_body": "Hi {{ customer_name }}, {{ tracking_url }}"}
    assert (
        client.post(reverse("admin:fulfillment_fulfillmentsettings_change", args=[row.pk]), good).status_code
        == 302
    )


def test_the_blotters_mark_shipped_refuses_an_order_already_in_the_warehouse(
    client, tenant_a, owner_a, stocked
):
    [shipment] = released(tenant_a)
    order = shipment.order
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "ship_orders", "_selected_action": [order.pk]},
        follow=True,
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"#{order.number} is in the warehouse" in m and "Ship with tracking" in m for m in said)
    assert fresh(order).state == "in_fulfillment"
    assert fresh(shipment).state == "pending"
