"""Payments in the admin: scoped to the tenant; capture, void and refund go through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Payment
from orders.payments.services import payment_authorize
from tests.orders.payments.factories import make_order

CHANGELIST = reverse("admin:orders_payment_changelist")


@pytest.fixture
def payments(tenant_a, tenant_b):
    mine = payment_authorize(
        tenant=tenant_a,
        order=make_order(tenant_a, total="50.00"),
        provider="sandbox",
        payment_method="pm_card_visa",
    )
    theirs = payment_authorize(
        tenant=tenant_b,
        order=make_order(tenant_b, total="70.00"),
        provider="sandbox",
        payment_method="pm_card_visa",
    )
    return mine, theirs


def test_payment_list_shows_only_own_payments(client, owner_a, payments):
    mine, _theirs = payments
    client.force_login(owner_a)
    rows = list(client.get(CHANGELIST).context["cl"].result_list)
    assert rows == [mine]


def test_capture_then_partial_refund_from_the_admin(client, owner_a, payments):
    mine, theirs = payments
    client.force_login(owner_a)
    client.post(CHANGELIST, {"action": "capture_payments", "_selected_action": [mine.pk, theirs.pk]})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, mine.amount_captured) == ("captured", Decimal("50.00"))
    assert theirs.state == "authorized"  # another tenant's id in the POST is ignored

    form = client.post(CHANGELIST, {"action": "refund_payments", "_selected_action": [mine.pk]})
    assert form.status_code == 200 and b"refundable 50.00" in form.content
    token = form.context["refund_token"]
    body = {
        "action": "refund_payments",
        "_selected_action": [mine.pk],
        "apply": "1",
        "amount": "12.50",
        "reason": "damaged box",
        "refund_token": token,
    }
    client.post(CHANGELIST, body)
    client.post(CHANGELIST, body)  # a double submit of the same form refunds once
    mine.refresh_from_db()
    assert (mine.state, mine.amount_refunded) == ("partially_refunded", Decimal("12.50"))

    too_much = dict(body, amount="40.00", refund_token="another-form")
    response = client.post(CHANGELIST, too_much, follow=True)
    assert "Not changed" in response.content.decode()
    mine.refresh_from_db()
    assert mine.amount_refunded == Decimal("12.50")


def test_payments_cannot_be_added_or_deleted(client, owner_a, payments):
    client.force_login(owner_a)
    assert client.get(reverse("admin:orders_payment_add")).status_code == 403
    mine, _ = payments
    assert (
        client.post(reverse("admin:orders_payment_delete", args=[mine.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Payment.objects.for_tenant(mine.tenant_id).filter(pk=mine.pk).exists()
