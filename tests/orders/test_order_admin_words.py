"""The order admin in the merchant's words: cancel and release ask first, the order page holds,
releases and cancels, and a new ship-to no warehouse serves says so with the choices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Warehouse
from orders.models import Hold, Order
from orders.services import order_create, order_hold
from tests.conftest import _staff
from tests.inventory.factories import SKUFactory, WarehouseFactory, stock
from tests.orders.conftest import order_input

CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def mine(tenant_a, stocked):
    order, _ = order_create(tenant=tenant_a, data=order_input("ACME-ORDER-1"))
    return order


@pytest.fixture
def theirs(tenant_b):
    wh = WarehouseFactory(tenant=tenant_b, code="GX1", postal_code="10118")
    sku = SKUFactory(tenant=tenant_b, code="SKU-123", name="Globex secret item")
    stock(tenant_b, sku, wh, 3)
    order, _ = order_create(tenant=tenant_b, data=order_input("GLOBEX-ORDER-1"))
    return order


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- bulk cancel: a confirmation page with a required reason ---------------------------------
def test_bulk_cancel_asks_for_confirmation_and_a_reason_before_it_cancels(client, owner_a, mine, theirs):
    client.force_login(owner_a)
    page = client.post(CHANGELIST, {"action": "cancel_orders", "_selected_action": [mine.pk, theirs.pk]})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Cancel orders" in body and f"#{mine.number}" in body and "cannot be undone" in body
    assert [o.pk for o in page.context["orders"]] == [mine.pk]  # another tenant's id is not listed
    mine.refresh_from_db()
    assert mine.state == "allocated"  # nothing happened yet

    no_reason = client.post(
        CHANGELIST, {"action": "cancel_orders", "_selected_action": [mine.pk], "apply": "1", "reason": ""}
    )
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    mine.refresh_from_db()
    assert mine.state == "allocated"

    done = client.post(
        CHANGELIST,
        {
            "action": "cancel_orders",
            "_selected_action": [mine.pk, theirs.pk],
            "apply": "1",
            "reason": "Duplicate",
        },
        follow=True,
    )
    assert "Cancelled 1 order(s)." in _messages(done)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, mine.cancel_reason) == ("cancelled", "Duplicate")
    assert theirs.state == "allocated"


# --- bulk release: which kinds, and why ------------------------------------------------------
def test_bulk_release_asks_which_kinds_and_keeps_the_others(client, owner_a, tenant_a, mine):
    order_hold(tenant=tenant_a, order_id=mine.pk, kind="fraud", reason="Card country differs")
    order_hold(tenant=tenant_a, order_id=mine.pk, kind="address", reason="No house number")
    client.force_login(owner_a)
    page = client.post(CHANGELIST, {"action": "release_orders", "_selected_action": [mine.pk]})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Fraud review" in body and "Address" in body and "Manual" not in body  # only kinds it has
    assert "holds: Address, Fraud review" in body
    mine.refresh_from_db()
    assert mine.state == "on_hold"

    missing = client.post(
        CHANGELIST,
        {"action": "release_orders", "_selected_action": [mine.pk], "apply": "1", "kinds": ["address"]},
    )
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()

    done = client.post(
        CHANGELIST,
        {
            "action": "release_orders",
            "_selected_action": [mine.pk],
            "apply": "1",
            "kinds": ["address"],
            "reason": "Customer confirmed the address",
        },
        follow=True,
    )
    assert "Released holds on 1 order(s)." in _messages(done)
    mine.refresh_from_db()
    assert mine.state == "on_hold"  # the fraud review stays
    active = Hold.objects.for_tenant(tenant_a).filter(order=mine, released_at__isnull=True)
    assert [h.kind for h in active] == ["fraud"]
    released = Hold.objects.for_tenant(tenant_a).get(order=mine, kind="address")
    assert mine.events.filter(type="hold_released", message="Customer confirmed the address").exists()
    assert released.released_by == "user:owner@acme.test"


def test_bulk_release_without_any_hold_says_so(client, owner_a, mine):
    client.force_login(owner_a)
    done = client.post(CHANGELIST, {"action": "release_orders", "_selected_action": [mine.pk]}, follow=True)
    assert "None of the selected orders has an active hold." in _messages(done)


# --- the order page: hold, release, cancel ----------------------------------------------------
def test_order_page_offers_hold_release_and_cancel_by_capability(
    client, owner_a, warehouse_a, tenant_a, mine
):
    url = reverse("admin:orders_order_change", args=[mine.pk])
    hold_url = reverse("admin:orders_order_hold", args=[mine.pk])
    release_url = reverse("admin:orders_order_release", args=[mine.pk])
    cancel_url = reverse("admin:orders_order_cancel", args=[mine.pk])
    client.force_login(owner_a)
    body = client.get(url).content.decode()
    assert hold_url in body and cancel_url in body and release_url not in body  # nothing to release yet

    held = client.post(hold_url, {"kind": "manual", "reason": "Customer may change the size"}, follow=True)
    assert f"Held order #{mine.number}: it is now on hold." in _messages(held)
    assert release_url in client.get(url).content.decode()

    form = client.get(release_url)
    assert form.status_code == 200 and "Manual" in form.content.decode()
    released = client.post(release_url, {"kinds": ["manual"], "reason": "Size confirmed"}, follow=True)
    assert f"Released holds on order #{mine.number}: it is now allocated." in _messages(released)

    refused = client.post(cancel_url, {"reason": ""})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    cancelled = client.post(cancel_url, {"reason": "Out of budget"}, follow=True)
    assert f"Cancelled order #{mine.number}: it is now cancelled." in _messages(cancelled)
    mine.refresh_from_db()
    assert (mine.state, mine.cancel_reason) == ("cancelled", "Out of budget")

    client.force_login(warehouse_a)  # may see the order, may not hold or cancel it
    body = client.get(url).content.decode()
    assert hold_url not in body and cancel_url not in body
    assert client.get(hold_url).status_code == 403
    assert client.post(cancel_url, {"reason": "x"}).status_code == 403


def test_order_page_actions_of_another_tenant_are_404(client, owner_a, theirs):
    client.force_login(owner_a)
    for name in ("hold", "release", "cancel"):
        url = reverse(f"admin:orders_order_{name}", args=[theirs.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {"kind": "manual", "kinds": ["manual"], "reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "allocated"


def test_a_refused_transition_shows_on_the_form(client, owner_a, tenant_a, mine):
    Order.objects.for_tenant(tenant_a).filter(pk=mine.pk).update(state="shipped")
    client.force_login(owner_a)
    page = client.post(reverse("admin:orders_order_cancel", args=[mine.pk]), {"reason": "Too late"})
    assert page.status_code == 200 and "can no longer be cancelled" in page.content.decode()


# --- a ship-to no warehouse serves -------------------------------------------------------------
def test_ship_to_no_warehouse_serves_says_so_and_offers_the_choices(client, owner_a, tenant_a, mine):
    Warehouse.objects.for_tenant(tenant_a).update(ships_to=["US"])
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA", "country": "GB"},
        follow=True,
    )
    [message] = list(response.context["messages"])
    text = str(message)
    assert message.level_tag == "warning"
    assert "no warehouse ships to GB" in text
    assert "2 unit(s) are backordered and the order is backordered" in text
    assert "re-allocated" not in text
    for name in ("ship_to", "hold", "cancel"):
        assert reverse(f"admin:orders_order_{name}", args=[mine.pk]) in text
    mine.refresh_from_db()
    assert mine.state == "backordered"
    explanation = mine.allocation_plan["explanation"]
    assert "No warehouse ships to GB" in explanation and "No stock anywhere" not in explanation


def test_ship_to_served_but_out_of_stock_names_the_warehouses(client, owner_a, tenant_a, mine, warehouses):
    w1, w2, w3 = warehouses
    Warehouse.objects.for_tenant(tenant_a).filter(pk__in=[w2.pk, w3.pk]).update(ships_to=["US"])
    Warehouse.objects.for_tenant(tenant_a).filter(pk=w1.pk).update(ships_to=["US", "CA"])
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA"},
        follow=True,
    )
    [message] = list(response.context["messages"])
    text = str(message)
    assert "the warehouses that ship to CA (W1) do not have the stock" in text


def test_ship_to_that_allocates_says_the_state_after(client, owner_a, mine):
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "US"},
        follow=True,
    )
    [message] = list(response.context["messages"])
    assert message.level_tag == "success"
    assert "re-allocated: it is allocated." in str(message)


def test_agent_sees_only_the_choices_their_role_holds(client, tenant_a, mine):
    Warehouse.objects.for_tenant(tenant_a).update(ships_to=["US"])
    agent = _staff(tenant_a, "agent", "agent@acme.test")
    client.force_login(agent)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA", "country": "GB"},
        follow=True,
    )
    [message] = list(response.context["messages"])
    text = str(message)
    assert reverse("admin:orders_order_hold", args=[mine.pk]) in text  # agents hold and cancel
    assert reverse("admin:orders_order_cancel", args=[mine.pk]) in text


def test_a_placed_orders_plan_names_skus_by_code_on_its_page(client, owner_a, tenant_a, stocked):
    order, _ = order_create(
        tenant=tenant_a,
        data=order_input(
            "SPLIT-1",
            lines=[
                {"sku": "SKU-123", "quantity": 1, "unit_price": "19.99"},
                {"sku": "SKU-456", "quantity": 1, "unit_price": "9.99"},
            ],
        ),
    )
    client.force_login(owner_a)
    body = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "short of SKU-456 (0 available of 1)" in body


def test_ship_to_of_a_held_order_says_it_stays_on_hold(client, owner_a, tenant_a, mine):
    order_hold(tenant=tenant_a, order_id=mine.pk, kind="address", reason="Check the address")
    client.force_login(owner_a)
    response = client.post(
        reverse("admin:orders_order_ship_to", args=[mine.pk]),
        {"line1": "1 Sunset Blvd", "city": "Los Angeles", "postal_code": "90001", "country": "US"},
        follow=True,
    )
    [message] = list(response.context["messages"])
    assert "it stays on hold and is allocated" in str(message)
    assert "re-allocated" not in str(message)


# --- titles: "Orders", the order's own title, not Django's "Select order to change" -----------
def test_list_and_order_pages_are_titled_in_the_merchants_words(client, owner_a, mine):
    client.force_login(owner_a)
    listing = client.get(CHANGELIST).content.decode()
    assert "<title> Orders | OMS</title>" in listing
    assert "Select order to change" not in listing

    page = client.get(reverse("admin:orders_order_change", args=[mine.pk])).content.decode()
    assert f"<title> {mine} | Order | OMS</title>" in page
    assert "Change order" not in page and "View order" not in page


def test_releasing_several_kinds_is_all_or_nothing(client, owner_a, tenant_a, mine, monkeypatch):
    from oms.core.errors import DomainError
    from orders import services
    from orders.errors import OrderErrorCode

    order_hold(tenant=tenant_a, order_id=mine.pk, kind="fraud", reason="Card country differs")
    order_hold(tenant=tenant_a, order_id=mine.pk, kind="address", reason="No house number")
    real = services.order_release

    def refuse_fraud(**kwargs):
        if kwargs["kind"] == "fraud":
            raise DomainError(OrderErrorCode.NO_ACTIVE_HOLD, "refused for the test")
        return real(**kwargs)

    monkeypatch.setattr(services, "order_release", refuse_fraud)
    client.force_login(owner_a)
    client.post(
        CHANGELIST,
        {
            "action": "release_orders",
            "_selected_action": [mine.pk],
            "apply": "1",
            "kinds": ["address", "fraud"],
            "reason": "Both checked",
        },
    )
    active = Hold.objects.for_tenant(tenant_a).filter(order=mine, released_at__isnull=True)
    assert sorted(h.kind for h in active) == ["address", "fraud"]  # the address hold is not lifted alone
