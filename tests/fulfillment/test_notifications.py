"""Customer emails on shipped and delivered: the tenant's template or the house one, once each."""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail

from fulfillment.models import FulfillmentSettings, Shipment, ShipmentNotification
from fulfillment.notifications import (
    NotificationRetry,
    email_template_problem,
    shipment_email_send,
)
from fulfillment.services import shipment_ship
from fulfillment.tasks import shipment_email_send_task
from orders.models import OrderEvent
from orders.states import OrderEventType
from tests.fulfillment.shipped import shipped_order

SHIPPED, DELIVERED = "shipped_email", "delivered_email"


@pytest.fixture
def shipped(tenant_a):
    order, (shipment,) = shipped_order(tenant_a, tracking_url="https://track.example/p/1")
    return order, shipment


def send(shipment, kind=SHIPPED):
    return shipment_email_send(tenant_id=shipment.tenant_id, shipment_id=shipment.pk, kind=kind)


def settings_of(tenant, **fields):
    row, _ = FulfillmentSettings.objects.for_tenant(tenant).get_or_create(tenant=tenant)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def test_the_shipped_email_carries_the_tracking_link(shipped):
    order, shipment = shipped

    row = send(shipment)

    (email,) = mail.outbox
    assert email.to == ["ana@example.com"]
    assert email.subject == f"Your order {order.number} is on its way"
    assert "https://track.example/p/1" in email.body
    assert shipment.tracking_number in email.body
    assert "Hello Ana Lima," in email.body
    assert "1 x Trail Runner Shoe (TRK-1)" in email.body
    assert "with USPS" in email.body
    assert (row.state, row.recipient, row.subject) == ("sent", "ana@example.com", email.subject)
    assert row.sent_at is not None
    assert (
        OrderEvent.objects.for_tenant(order.tenant_id)
        .filter(order=order, type=OrderEventType.NOTE, message="Shipped email sent to ana@example.com")
        .exists()
    )


def test_without_a_platform_url_the_link_is_the_carriers_page(tenant_a):
    _, (shipment,) = shipped_order(tenant_a)

    send(shipment)

    assert f"https://tools.usps.com/go/TrackConfirmAction?tLabels={shipment.tracking_number}" in (
        mail.outbox[0].body
    )


def test_the_tenants_template_and_sender_are_used_when_set(shipped):
    order, shipment = shipped
    settings_of(
        order.tenant,
        shipped_email_subject="{{ shop_name }}: #{{ order_number }} shipped",
        shipped_email_body=(
            "Hi {{ customer_name }}! {{ carrier }} {{ tracking_number }} -> {{ tracking_url }}\n"
            "{% for line in lines %}[{{ line.sku }} x{{ line.quantity }}]{% endfor %}"
        ),
        email_from="shop@acme.test",
    )

    send(shipment)

    (email,) = mail.outbox
    assert email.subject == f"Acme Outdoor: #{order.number} shipped"
    assert email.body == (
        f"Hi Ana Lima! USPS {shipment.tracking_number} -> https://track.example/p/1\n[TRK-1 x1]"
    )
    assert email.from_email == "shop@acme.test"


def test_the_delivered_email_uses_the_delivered_template(shipped):
    order, shipment = shipped
    settings_of(
        order.tenant, delivered_email_subject="Delivered: {{ order_number }}", delivered_email_body="x"
    )

    send(shipment, DELIVERED)

    (email,) = mail.outbox
    assert email.subject == f"Delivered: {order.number}"
    assert email.body == "x"


def test_the_house_delivered_email(shipped):
    order, shipment = shipped

    send(shipment, DELIVERED)

    (email,) = mail.outbox
    assert email.subject == f"Your order {order.number} has been delivered"
    assert "USPS says your parcel from order" in email.body


@pytest.mark.parametrize(
    "template",
    [
        "{% debug %}",
        '{% include "admin/base.html" %}',
        '{% extends "admin/base.html" %}',
        "{% load static %}{% static 'x' %}",
        "{% url 'admin:index' %}",
        "{% if %}",
    ],
)
def test_a_template_that_reaches_outside_the_sandbox_falls_back_to_the_house_one(shipped, template):
    order, shipment = shipped
    settings_of(order.tenant, shipped_email_body=template)

    row = send(shipment)

    (email,) = mail.outbox
    assert "Follow your parcel: https://track.example/p/1" in email.body  # the house body
    assert "the shop's body template failed" in row.detail
    assert email_template_problem(template) is not None


def test_the_context_holds_plain_values_only(shipped):
    order, shipment = shipped
    settings_of(
        order.tenant, shipped_email_body="[{{ order }}][{{ shipment }}][{{ settings }}][{{ order_number }}]"
    )

    send(shipment)

    assert mail.outbox[0].body == f"[][][][{order.number}]"


def test_a_rerun_does_not_send_twice(shipped):
    _, shipment = shipped

    first = send(shipment)
    again = send(shipment)
    shipment_email_send_task(tenant_id=shipment.tenant_id, shipment_id=shipment.pk, kind=SHIPPED)

    assert first.state == "sent"
    assert again is None
    assert len(mail.outbox) == 1
    assert ShipmentNotification.objects.for_tenant(shipment.tenant_id).get().attempts == 1


def test_a_run_beside_one_that_holds_the_claim_retries_later(shipped):
    _, shipment = shipped
    send(shipment)
    row = ShipmentNotification.objects.for_tenant(shipment.tenant_id).get()
    ShipmentNotification.objects.for_tenant(shipment.tenant_id).filter(pk=row.pk).update(
        state="pending", claimed_at=row.sent_at
    )

    with pytest.raises(NotificationRetry):
        send(shipment)
    assert len(mail.outbox) == 1


def test_a_mail_server_failure_gives_the_claim_back_and_a_retry_sends(shipped, monkeypatch):
    _, shipment = shipped

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(NotificationRetry):
        send(shipment)
    row = ShipmentNotification.objects.for_tenant(shipment.tenant_id).get()
    assert (row.state, row.claimed_at) == ("pending", None)
    assert "connection closed" in row.detail

    monkeypatch.undo()
    send(shipment)

    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)


def test_a_customer_without_an_email_address_is_skipped(tenant_a):
    _, (shipment,) = shipped_order(tenant_a)
    shipment.order.customer.__class__.objects.for_tenant(tenant_a).update(email="")

    row = send(shipment)

    assert (row.state, row.detail) == ("skipped", "The customer has no email address.")
    assert mail.outbox == []


def test_shipping_sends_the_shipped_email_and_records_the_channel_push(
    tenant_a, django_capture_on_commit_callbacks
):
    order, _ = shipped_order(tenant_a, ship=0)
    pending = Shipment.objects.for_tenant(tenant_a).get(order=order)

    for _ in range(2):  # shipping twice changes nothing
        with django_capture_on_commit_callbacks(execute=True):
            shipment_ship(
                tenant=tenant_a,
                shipment_id=pending.pk,
                carrier="UPS",
                tracking_number="1Z999AA1",
                actor="test",
            )

    (email,) = mail.outbox
    assert email.subject == f"Your order {order.number} is on its way"
    assert "Follow your parcel: https://www.ups.com/track?tracknum=1Z999AA1" in email.body
    kinds = dict(ShipmentNotification.objects.for_tenant(tenant_a).values_list("kind", "state"))
    assert kinds == {"shipped_email": "sent", "channel_tracking": "skipped"}


def test_delivery_by_tracking_sends_the_delivered_email_once(shipped, django_capture_on_commit_callbacks):
    from fulfillment.carriers import TrackingUpdate
    from fulfillment.tracking import tracking_apply

    _, shipment = shipped
    delivered = TrackingUpdate(
        carrier="usps",
        tracking_number=shipment.tracking_number,
        status="DELIVERED",
        status_details="",
        status_date=None,
    )
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            tracking_apply(tenant=shipment.tenant, shipment_id=shipment.pk, update=delivered, source="test")

    assert [m.subject for m in mail.outbox] == [f"Your order {shipment.order.number} has been delivered"]


def test_the_email_task_with_another_tenants_shipment_finds_nothing(shipped, tenant_b):
    _, shipment = shipped

    with pytest.raises(Shipment.DoesNotExist):
        shipment_email_send_task(tenant_id=tenant_b.pk, shipment_id=shipment.pk, kind=SHIPPED)

    assert mail.outbox == []
    assert not ShipmentNotification.objects.unscoped().exists()


def test_an_unknown_kind_is_refused(shipped):
    _, shipment = shipped
    with pytest.raises(ValueError, match="not an email kind"):
        send(shipment, "channel_tracking")
