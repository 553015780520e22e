"""Emails owed to customers (order confirmed, refund issued) and to staff (an inbound event
dead-lettered, a stockout), each sent once.

`email_owe`, inside the cause's transaction, writes one EmailNotification per (kind, key) and
its outbox row (`notifications.tasks.email_send_task`); a second call for the same key writes
nothing. The task calls `email_send`, which claims the row (a guarded update with a lease, so
two deliveries of the outbox row cannot both send), renders the tenant's template for the kind
(EmailTemplate, else the house text in DEFAULTS) in fulfillment's template sandbox, sends it
through Django's email backend from the tenant's sender (fulfillment settings' `email_from`,
else DEFAULT_FROM_EMAIL), and marks it sent. A row already sent or skipped sends nothing: a
redelivery of the outbox row sends no second email. A mail server failure gives the claim back
and raises EmailRetry (the task retries with backoff).

The shipped and delivered emails (fulfillment/notifications.py) and the return label email
(returns/notifications.py) stay in their rooms, which own their claim rows and templates.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template import Context
from django.utils import timezone

from fulfillment.models import FulfillmentSettings
from fulfillment.notifications import SANDBOX
from integrations.models import InboundEvent
from inventory.models import StockLevel
from notifications.models import EmailNotification, EmailTemplate
from notifications.preferences import tenant_wants
from notifications.states import EMAIL_DONE, OFF_BY_DEFAULT, STAFF_KINDS, EmailKind, EmailState
from oms.core.tasks import enqueue_on_commit
from oms.models import Membership, Role, Tenant
from orders.models import Order
from returns.models import ReturnRequest

K, S = EmailKind, EmailState
CLAIM_LEASE = timedelta(minutes=5)
SEND_TASK = "notifications.tasks.email_send_task"
STAFF_ROLES = (Role.OWNER, Role.MANAGER)

DEFAULTS: dict[str, tuple[str, str]] = {
    K.ORDER_CONFIRMED: (
        "{{ shop_name }}: we have your order {{ order_number }}",
        "Hello {{ customer_name }},\n\nthank you for your order {{ order_number }}.\n\n"
        "{% for line in lines %}{{ line.quantity }} × {{ line.name }} ({{ line.sku }})\n{% endfor %}"
        "\nTotal: {{ total }} {{ currency }}\n\nWe will write again when it ships.\n\n{{ shop_name }}\n",
    ),
    K.REFUND_ISSUED: (
        "{{ shop_name }}: your refund for return {{ rma_number }}",
        "Hello {{ customer_name }},\n\nwe have refunded {{ amount }} {{ currency }} for return "
        "{{ rma_number }} (order {{ order_number }}). It reaches your account in a few days, "
        "depending on your bank.\n\n{{ shop_name }}\n",
    ),
    K.INBOUND_DEAD: (
        "[{{ shop_name }}] A {{ source }} event could not be processed",
        "The {{ source }} event {{ event_type }} ({{ event_id }}) failed {{ attempts }} times and "
        "waits in the inbox as a dead letter.\n\nLast error: {{ error }}\n\n"
        "Fix the cause, then replay it from Integrations › Inbound events.\n",
    ),
    K.STOCKOUT: (
        "[{{ shop_name }}] Out of stock: {{ sku }} at {{ warehouse }}",
        "{{ sku }} ({{ sku_name }}) has {{ available }} available at {{ warehouse }} "
        "({{ on_hand }} on hand). New orders for it wait as backorders until stock arrives.\n",
    ),
}

CONTEXT_KEYS: dict[str, tuple[str, ...]] = {
    K.ORDER_CONFIRMED: ("shop_name", "order_number", "customer_name", "total", "currency", "lines"),
    K.REFUND_ISSUED: ("shop_name", "order_number", "rma_number", "customer_name", "amount", "currency"),
    K.INBOUND_DEAD: ("shop_name", "source", "event_type", "event_id", "attempts", "error"),
    K.STOCKOUT: ("shop_name", "sku", "sku_name", "warehouse", "available", "on_hand"),
}


class EmailRetry(Exception):
    """Not sent yet, for a reason that passes (the mail server, another run's claim): retry."""


# --- owing, inside the cause's transaction -------------------------------------------------------
def email_owe(*, tenant_id: int, kind: str, key: str, refs: dict[str, Any]) -> EmailNotification | None:
    """The email of `kind` about `key`, written once with its outbox row; None when owed before or
    when the tenant does not send this kind."""
    if kind not in tenant_wants(tenant_id).emails or not template_for(tenant_id, kind)[2]:
        return None
    try:
        with transaction.atomic():
            row = EmailNotification.objects.create(tenant_id=tenant_id, kind=kind, key=key[:100], refs=refs)
    except IntegrityError:
        return None
    enqueue_on_commit(SEND_TASK, tenant_id=tenant_id, email_id=row.pk)
    return row


# --- what each kind says, and to whom --------------------------------------------------------------
def _order_context(tenant_id: int, order_id: int) -> tuple[dict[str, Any], list[str]]:
    order = Order.objects.for_tenant(tenant_id).select_related("customer", "ship_to").get(pk=order_id)
    context = {
        "order_number": order.number,
        "customer_name": order.customer.name or order.ship_to.name,
        "total": str(order.total),
        "currency": order.currency,
        "lines": [
            {"sku": line.sku.code, "name": line.sku.name, "quantity": line.quantity}
            for line in order.lines.select_related("sku").order_by("position", "pk")
        ],
    }
    return context, [order.customer.email]


def _refund_context(tenant_id: int, refs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    ret = (
        ReturnRequest.objects.for_tenant(tenant_id)
        .select_related("order__customer", "order__ship_to")
        .get(pk=refs["return_id"])
    )
    order = ret.order
    context = {
        "order_number": order.number,
        "rma_number": ret.rma_number,
        "customer_name": order.customer.name or order.ship_to.name,
        "amount": refs.get("amount", ""),
        "currency": refs.get("currency", order.currency),
    }
    return context, [order.customer.email]


def staff_recipients(tenant_id: int) -> list[str]:
    """The emails of the tenant's owners and managers."""
    emails = (
        Membership.objects.for_tenant(tenant_id)
        .filter(role__in=STAFF_ROLES, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def _inbound_context(tenant_id: int, refs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    event = InboundEvent.objects.for_tenant(tenant_id).get(pk=refs["event_id"])
    context = {
        "source": event.source,
        "event_type": event.event_type,
        "event_id": event.event_id,
        "attempts": str(event.attempts),
        "error": event.error[:500],
    }
    return context, staff_recipients(tenant_id)


def _stockout_context(tenant_id: int, refs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    level = (
        StockLevel.objects.for_tenant(tenant_id)
        .select_related("sku", "warehouse")
        .get(pk=refs["stock_level_id"])
    )
    context = {
        "sku": level.sku.code,
        "sku_name": level.sku.name,
        "warehouse": level.warehouse.code,
        "available": str(level.available),
        "on_hand": str(level.on_hand),
    }
    return context, staff_recipients(tenant_id)


def email_context(row: EmailNotification) -> tuple[dict[str, Any], list[str]]:
    """(the template's context, the recipients) of an owed email."""
    tenant_id, refs = row.tenant_id, row.refs
    if row.kind == K.ORDER_CONFIRMED:
        context, to = _order_context(tenant_id, refs["order_id"])
    elif row.kind == K.REFUND_ISSUED:
        context, to = _refund_context(tenant_id, refs)
    elif row.kind == K.INBOUND_DEAD:
        context, to = _inbound_context(tenant_id, refs)
    else:
        context, to = _stockout_context(tenant_id, refs)
    context["shop_name"] = Tenant.objects.get(pk=tenant_id).name
    return context, [address.strip() for address in to if address and address.strip()]


def template_for(tenant_id: int, kind: str) -> tuple[str, str, bool]:
    """(subject, body, enabled): the tenant's template for `kind`, else the house one."""
    own = EmailTemplate.objects.for_tenant(tenant_id).filter(kind=kind).first()
    if own is None:
        subject, body = DEFAULTS[kind]
        return subject, body, kind not in OFF_BY_DEFAULT
    return own.subject, own.body, own.enabled


def render(source: str, context: dict[str, Any]) -> str:
    return SANDBOX.from_string(source).render(Context(context, autoescape=False))


def template_problem(kind: str, text: str) -> str | None:
    """Why a tenant's template text cannot be used (for the admin form), or None."""
    sample: dict[str, Any] = dict.fromkeys(CONTEXT_KEYS[kind], "x")
    if "lines" in sample:
        sample["lines"] = [{"sku": "SKU-1", "name": "Item", "quantity": 1}]
    try:
        render(text, sample)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def sender_for(tenant_id: int) -> str:
    config = FulfillmentSettings.objects.for_tenant(tenant_id).first()
    return (config.email_from if config else "") or settings.DEFAULT_FROM_EMAIL


# --- sending, outside any transaction --------------------------------------------------------------
def _rows(tenant_id: int) -> Any:
    return EmailNotification.objects.for_tenant(tenant_id)


def _claim(row: EmailNotification) -> bool:
    now = timezone.now()
    return bool(
        _rows(row.tenant_id)
        .filter(pk=row.pk, state=S.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )


def _finish(row: EmailNotification, state: str, **fields: Any) -> EmailNotification:
    _rows(row.tenant_id).filter(pk=row.pk, state=S.PENDING).update(
        state=state, claimed_at=None, sent_at=timezone.now() if state == S.SENT else None, **fields
    )
    row.refresh_from_db()
    return row


def email_send(*, tenant_id: int, email_id: int) -> EmailNotification:
    """Send the owed email once; a row already sent or skipped is returned as it is."""
    row = _rows(tenant_id).get(pk=email_id)
    if row.state in EMAIL_DONE:
        return row
    if not _claim(row):
        row.refresh_from_db()
        if row.state in EMAIL_DONE:
            return row
        raise EmailRetry(f"email {row.pk} is being sent by another run")
    subject_source, body_source, enabled = template_for(tenant_id, row.kind)
    if not enabled:
        return _finish(row, S.SKIPPED, detail="The shop turned this email off.")
    context, recipients = email_context(row)
    if not recipients:
        who = (
            "owner or manager with an email address" if row.kind in STAFF_KINDS else "customer email address"
        )
        return _finish(row, S.SKIPPED, detail=f"No {who}.")
    problems = []
    try:
        subject, body = render(subject_source, context), render(body_source, context)
    except Exception as exc:  # the tenant's template failed: the house text goes out instead
        problems.append(f"The shop's template failed ({type(exc).__name__}: {exc}); the default was used.")
        subject, body = (render(text, context) for text in DEFAULTS[row.kind])
    subject = " ".join(subject.split())[:200]
    message = EmailMessage(subject=subject, body=body, from_email=sender_for(tenant_id), to=recipients)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        _rows(tenant_id).filter(pk=row.pk).update(
            claimed_at=None, detail=f"The mail server failed: {exc}"[:500]
        )
        raise EmailRetry(str(exc)) from exc
    return _finish(
        row, S.SENT, recipients=", ".join(recipients)[:1000], subject=subject, detail=" ".join(problems)[:500]
    )
