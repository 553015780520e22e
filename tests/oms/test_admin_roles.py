"""What the review reproduced: warehouse staff and support agents doing, from the admin, what their
role may not. Each door now asks the role table (oms/core/roles.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import InboundShipment, Reservation
from oms.models import Role
from orders.models import Order, Payment
from orders.payments.services import payment_capture
from orders.services import order_create
from tests.orders.conftest import order_input
from tests.worlds import admin_form_data, build_world, staff

ORDERS = reverse("admin:orders_order_changelist")
PAYMENTS = reverse("admin:orders_payment_changelist")


@pytest.fixture
def world(tenant_a):
    return build_world(tenant_a, "ACME")


@pytest.fixture
def picker(tenant_a):
    return staff(tenant_a, Role.WAREHOUSE, "picker@acme.test")


@pytest.fixture
def agent(tenant_a):
    return staff(tenant_a, Role.AGENT, "agent@acme.test")


def _state(model, row):
    return model._base_manager.get(pk=row.pk).state


@pytest.mark.parametrize("action", ["capture_payments", "void_payments", "refund_payments"])
def test_warehouse_staff_cannot_touch_payments(client, world, picker, action):
    payment = world["payment"]
    client.force_login(picker)
    response = client.post(PAYMENTS, {"action": action, "_selected_action": [payment.pk], "apply": "1"})
    assert response.status_code == 403  # they do not even see the payment list
    assert _state(Payment, payment) == "authorized"


@pytest.mark.parametrize(
    "action", ["hold_orders", "release_orders", "cancel_orders", "ship_orders", "reallocate_orders"]
)
def test_warehouse_staff_see_orders_but_cannot_change_them(client, world, picker, tenant_a, action):
    held = world["order"]
    allocated, _ = order_create(tenant=tenant_a, data=order_input("ACME-ORDER-2"))
    client.force_login(picker)
    page = client.get(ORDERS)
    assert page.status_code == 200 and "ACME-ORDER-2" in page.content.decode()
    assert f'value="{action}"' not in page.content.decode()  # not offered
    before = {o.pk: (_state(Order, o), o.events.count()) for o in (held, allocated)}
    client.post(
        ORDERS,
        {
            "action": action,
            "_selected_action": [held.pk, allocated.pk],
            "apply": "1",
            "kind": "manual",
            "reason": "x",
        },
    )
    assert {o.pk: (_state(Order, o), o.events.count()) for o in (held, allocated)} == before
    assert before[allocated.pk][0] == "allocated" and before[held.pk][0] == "on_hold"


def test_warehouse_staff_do_not_see_payments_on_the_order_page(client, world, picker):
    client.force_login(picker)
    body = client.get(reverse("admin:orders_order_change", args=[world["order"].pk])).content.decode()
    assert "ACME-ORDER" in body and "Timeline" in body
    assert "payment_set" not in body and "pm_card_visa" not in body and "sandbox" not in body
    assert "Change ship-to address" not in body
    ship_to = client.get(reverse("admin:orders_order_ship_to", args=[world["order"].pk]))
    assert ship_to.status_code == 403


def test_warehouse_staff_cannot_release_reservations_but_receive_inbound(client, world, picker):
    reservation, inbound = world["reservation"], world["inbound"]
    client.force_login(picker)
    client.post(
        reverse("admin:inventory_reservation_changelist"),
        {"action": "release_reservations", "_selected_action": [reservation.pk]},
    )
    assert _state(Reservation, reservation) == "active"
    client.post(
        reverse("admin:inventory_inboundshipment_changelist"),
        {"action": "receive_outstanding", "_selected_action": [inbound.pk]},
    )
    assert _state(InboundShipment, inbound) == "received"


def test_agents_see_channel_accounts_nowhere_and_cannot_change_them(client, world, agent, tenant_a):
    account = world["account"]
    client.force_login(agent)
    url = reverse("admin:integrations_channelaccount_change", args=[account.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"kind": "stripe", "name": "hijacked", "base_url": "http://evil.test"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.name == "ACME stripe" and account.base_url == "http://127.0.0.1:9"


def test_managers_see_channel_accounts_but_only_owners_change_them(client, world, tenant_a):
    manager = staff(tenant_a, Role.MANAGER, "manager@acme.test")
    client.force_login(manager)
    url = reverse("admin:integrations_channelaccount_change", args=[world["account"].pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(url, {"kind": "stripe", "name": "x"}).status_code == 403


def _refund(client, payment, amount, token):
    return client.post(
        PAYMENTS,
        {
            "action": "refund_payments",
            "_selected_action": [payment.pk],
            "apply": "1",
            "amount": amount,
            "reason": "late delivery",
            "refund_token": token,
        },
        follow=True,
    )


def test_support_agents_refund_up_to_the_tenant_limit(client, world, agent, tenant_a):
    tenant_a.agent_refund_limit = Decimal("10.00")
    tenant_a.save()
    payment = payment_capture(tenant=tenant_a, payment_id=world["payment"].pk)
    payment = Payment.objects.for_tenant(tenant_a).get(pk=world["payment"].pk)
    client.force_login(agent)
    form = client.post(PAYMENTS, {"action": "refund_payments", "_selected_action": [payment.pk]})
    assert "Your role refunds at most 10.00 USD at a time." in form.content.decode()

    too_much = _refund(client, payment, "10.01", "t1")
    assert "Support agents refund at most 10.00" in too_much.content.decode()
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("0")

    _refund(client, payment, "10.00", "t2")
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("10.00")


def test_managers_refund_above_the_agent_limit(client, world, tenant_a):
    tenant_a.agent_refund_limit = Decimal("0")
    tenant_a.save()
    payment_capture(tenant=tenant_a, payment_id=world["payment"].pk)
    client.force_login(staff(tenant_a, Role.MANAGER, "manager@acme.test"))
    _refund(client, world["payment"], "30.00", "t1")
    assert Payment.objects.for_tenant(tenant_a).get(pk=world["payment"].pk).amount_refunded == Decimal(
        "30.00"
    )


def test_owners_set_the_agent_refund_limit_managers_only_read_it(client, tenant_a, owner_a, manager_a):
    url = reverse("admin:oms_tenant_change", args=[tenant_a.pk])
    client.force_login(owner_a)
    data = admin_form_data(client.get(url))
    data["agent_refund_limit"] = "42.50"
    assert client.post(url, data).status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.agent_refund_limit == Decimal("42.50")

    data["agent_refund_limit"] = "-1"
    assert "agent_refund_limit" in client.post(url, data).context["adminform"].form.errors

    client.force_login(manager_a)
    page = client.get(url)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(url, dict(data, agent_refund_limit="9999")).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.agent_refund_limit == Decimal("42.50")
