"""A shipped order's return, received and refunded: order.shipped, return.received and
refund.issued reach the merchant's endpoint, and the customer gets the refund email once."""

from __future__ import annotations

import json
from decimal import Decimal

from django.core import mail

from notifications.models import EmailNotification
from notifications.states import EmailKind, EmailState
from notifications.tasks import email_send_task
from returns.refunds import return_refund
from returns.services import return_inspect
from tests.returns.factories import authorized_return, receive_all, shipped_order


def test_shipped_received_refunded(tenant_a, endpoint_a, receiver, django_capture_on_commit_callbacks):
    endpoint_a.events = ["order.shipped", "return.received", "refund.issued"]
    endpoint_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        order = shipped_order(tenant_a, delivered_days_ago=1)
    with django_capture_on_commit_callbacks(execute=True):
        ret = receive_all(authorized_return(order, ("RET-1", 2, "wrong_size")))
    with django_capture_on_commit_callbacks(execute=True):
        return_inspect(tenant=tenant_a, return_id=ret.pk, actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        return_refund(tenant=tenant_a, return_id=ret.pk, actor="test")

    payloads = [json.loads(r["body"]) for r in receiver.requests]
    assert all(r["verified"] for r in receiver.requests)
    types = [p["type"] for p in payloads]
    assert "order.shipped" in types
    assert types[-2:] == ["return.received", "refund.issued"]
    shipped = payloads[types.index("order.shipped")]
    assert shipped["data"]["order"]["number"] == order.number
    refund = payloads[-1]["data"]
    assert refund["return"]["rma_number"] == ret.rma_number
    assert Decimal(refund["refund"]["amount"]) == Decimal("60.00")
    assert refund["return"]["lines"][0]["received"] == 2

    [email] = [m for m in mail.outbox if "refund" in m.subject]
    assert str(ret.rma_number) in email.subject
    assert "60.00" in email.body
    row = EmailNotification.objects.for_tenant(tenant_a).get(kind=EmailKind.REFUND_ISSUED)
    assert row.state == EmailState.SENT
    email_send_task(tenant_id=tenant_a.pk, email_id=row.pk)
    assert len([m for m in mail.outbox if "refund" in m.subject]) == 1
