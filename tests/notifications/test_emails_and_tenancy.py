"""Customer and staff emails through the outbox, once; and tenant A's rows out of tenant B's reach."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse

from inventory.models import StockLevel
from notifications.emails import DEFAULTS, email_send
from notifications.models import (
    EmailNotification,
    EmailTemplate,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from notifications.states import EmailKind, EmailState
from notifications.tasks import email_send_task, webhook_delivery_send_task
from notifications.webhooks import endpoint_url_problem
from orders.services import order_create
from tests.notifications.conftest import order_input


def _place(tenant, capture, external_id="W-1001", **extra):
    with capture(execute=True):
        return order_create(tenant=tenant, data=order_input(external_id, **extra))[0]


def _confirmations_on(tenant):
    subject, body = DEFAULTS[EmailKind.ORDER_CONFIRMED]
    EmailTemplate.objects.create(tenant=tenant, kind=EmailKind.ORDER_CONFIRMED, subject=subject, body=body)


def test_order_confirmed_is_off_until_the_tenant_turns_it_on(
    tenant_a, stocked, django_capture_on_commit_callbacks
):
    _place(tenant_a, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert not EmailNotification.objects.for_tenant(tenant_a).exists()


def test_order_confirmed_email_from_the_house_text_once(
    tenant_a, stocked, django_capture_on_commit_callbacks
):
    _confirmations_on(tenant_a)
    order = _place(tenant_a, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert message.subject == f"Acme Outdoor: we have your order {order.number}"
    assert "2 × " in message.body and "SKU-123" in message.body
    row = EmailNotification.objects.for_tenant(tenant_a).get(kind=EmailKind.ORDER_CONFIRMED)
    assert row.state == EmailState.SENT
    # a redelivery of the outbox row (or the task run again) sends no second email
    email_send_task(tenant_id=tenant_a.pk, email_id=row.pk)
    assert len(mail.outbox) == 1


def test_the_tenants_template_and_sender_are_used(tenant_a, stocked, django_capture_on_commit_callbacks):
    from fulfillment.models import FulfillmentSettings

    FulfillmentSettings.objects.create(tenant=tenant_a, email_from="shop@acme.test")
    EmailTemplate.objects.create(
        tenant=tenant_a,
        kind=EmailKind.ORDER_CONFIRMED,
        subject="Order {{ order_number }} is in",
        body="Hi {{ customer_name }}",
    )
    order = _place(tenant_a, django_capture_on_commit_callbacks)
    assert mail.outbox[0].subject == f"Order {order.number} is in"
    assert mail.outbox[0].body == "Hi Ana Lima"
    assert mail.outbox[0].from_email == "shop@acme.test"


def test_a_disabled_template_sends_nothing(tenant_a, stocked, django_capture_on_commit_callbacks):
    EmailTemplate.objects.create(
        tenant=tenant_a, kind=EmailKind.ORDER_CONFIRMED, subject="x", body="y", enabled=False
    )
    _place(tenant_a, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert not EmailNotification.objects.for_tenant(tenant_a).exists()


def test_stockout_alerts_owners_and_managers_once_and_tells_stock_low(
    tenant_a,
    stocked,
    owner_a,
    manager_a,
    warehouse_a,
    local_hooks,
    endpoint_a,
    receiver,
    django_capture_on_commit_callbacks,
):
    endpoint_a.events = ["stock.low"]
    endpoint_a.save()
    subject, body = DEFAULTS[EmailKind.STOCKOUT]
    EmailTemplate.objects.create(tenant=tenant_a, kind=EmailKind.STOCKOUT, subject=subject, body=body)
    # W2 holds 5, W3 10 of SKU-123 (Austin: W3 Dallas is nearest); take all 10 of W3
    _place(
        tenant_a,
        django_capture_on_commit_callbacks,
        "W-1",
        lines=[{"sku": "SKU-123", "quantity": 10, "unit_price": "1.00"}],
    )
    alerts = [m for m in mail.outbox if m.subject.startswith("[Acme Outdoor] Out of stock")]
    assert len(alerts) == 1
    assert sorted(alerts[0].to) == ["manager@acme.test", "owner@acme.test"]
    assert "SKU-123" in alerts[0].subject
    assert [r["verified"] for r in receiver.requests] == [True]
    # the same row, still out, tells no one again
    _place(
        tenant_a,
        django_capture_on_commit_callbacks,
        "W-2",
        lines=[{"sku": "SKU-123", "quantity": 1, "unit_price": "1.00"}],
    )
    assert len([m for m in mail.outbox if "Out of stock" in m.subject]) == 1
    level = StockLevel.objects.for_tenant(tenant_a).filter(sku__code="SKU-123", on_hand=10).get()
    assert level.available == 0


def test_tasks_with_another_tenants_ids_find_nothing(
    tenant_a, tenant_b, stocked, endpoint_a, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500] * 10
    endpoint_a.events = []
    endpoint_a.save()
    _confirmations_on(tenant_a)
    _place(tenant_a, django_capture_on_commit_callbacks)
    row = EmailNotification.objects.for_tenant(tenant_a).get()
    event = WebhookEvent.objects.create(tenant=tenant_a, type="order.created", refs={}, data={})
    delivery = WebhookDelivery.objects.create(tenant=tenant_a, event=event, endpoint=endpoint_a)
    for call in (
        lambda: email_send(tenant_id=tenant_b.pk, email_id=row.pk),
        lambda: webhook_delivery_send_task(tenant_id=tenant_b.pk, delivery_id=delivery.pk),
    ):
        try:
            call()
        except Exception as exc:
            assert "DoesNotExist" in type(exc).__name__, exc
    delivery.refresh_from_db()
    assert delivery.attempts == 0 and receiver.requests == []


def test_admin_pages_show_only_the_own_tenants_rows(client, tenant_a, tenant_b, owner_b, local_hooks):
    mine = WebhookEndpoint.objects.create(
        tenant=tenant_a, url="https://erp.acme.test/h", events=["order.created"]
    )
    event = WebhookEvent.objects.create(tenant=tenant_a, type="order.created", refs={}, data={})
    delivery = WebhookDelivery.objects.create(tenant=tenant_a, event=event, endpoint=mine)
    template = EmailTemplate.objects.create(
        tenant=tenant_a, kind="refund_issued", subject="acme s", body="acme b"
    )
    client.force_login(owner_b)
    for model, row in (("webhookendpoint", mine), ("webhookdelivery", delivery), ("emailtemplate", template)):
        listing = client.get(reverse(f"admin:notifications_{model}_changelist"))
        assert listing.status_code == 200
        assert list(listing.context["cl"].result_list) == []
        page = client.get(reverse(f"admin:notifications_{model}_change", args=[row.pk]), follow=True)
        assert page.redirect_chain and page.redirect_chain[-1][0] == reverse("admin:index")
        assert "exist" in page.content.decode()
        assert "acme" not in page.content.decode().lower()
    # B's owner replaying A's delivery through the action replays nothing
    client.post(
        reverse("admin:notifications_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert WebhookDelivery.objects.for_tenant(tenant_a).count() == 1


def test_only_http_urls_and_no_private_hosts_by_default(settings):
    settings.OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    assert endpoint_url_problem("ftp://erp.example.com/x")
    assert endpoint_url_problem("file:///etc/passwd")
    assert endpoint_url_problem("http://127.0.0.1:8000/x")
    assert endpoint_url_problem("http://10.0.0.5/x")
    assert endpoint_url_problem("http://localhost/x")
    assert endpoint_url_problem("https://erp.example.com/hooks") is None


def test_a_dead_lettered_inbound_event_alerts_owners_and_managers(
    tenant_a, owner_a, manager_a, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations import inbox
    from integrations.models import ChannelAccount, InboundEvent, InboundEventState

    def broken(event, body):
        raise RuntimeError("no such SKU")

    monkeypatch.setitem(inbox._handlers, "test-dead", broken)
    account = ChannelAccount.objects.create(tenant=tenant_a, kind="shopify", name="shop", credentials="x")
    event = InboundEvent.objects.create(
        tenant=tenant_a,
        account=account,
        source="test-dead",
        event_id="E-1",
        event_type="orders/create",
        body="{}",
        attempts=inbox.MAX_ATTEMPTS - 1,
        state=InboundEventState.FAILED,
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = inbox.inbound_event_process(tenant_id=tenant_a.pk, event_id=event.pk)
    assert result.state == InboundEventState.DEAD
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Acme Outdoor] A test-dead event could not be processed"
    assert sorted(mail.outbox[0].to) == ["manager@acme.test", "owner@acme.test"]
    assert "no such SKU" in mail.outbox[0].body
