"""Telling others about a shipment, once each: the customer's shipped and delivered emails, and the
tracking pushed to the channel the order came from.

`effects.shipment_shipped` / `shipment_delivered` write the tasks to the outbox; the tasks
call the services here, outside any transaction. Each (shipment, kind) has one
`ShipmentNotification` row, and a service:
1. claims it: creates it, or finds it pending and not claimed in the last CLAIM_LEASE, and
   stamps `claimed_at` (a guarded update, so two deliveries of the task cannot both claim);
   a row already sent, skipped or failed ends the run: a rerun tells no one again;
2. calls out (Django's email backend, or the channel's gateway);
3. marks the row sent, skipped or failed. A transient failure (the mail server, the channel
   unreachable) gives the claim back and raises `NotificationRetry`; the task retries.

A worker that dies between 2 and 3 leaves the claim to expire, and the redelivered task
sends again: at least once, never twice for a rerun of a finished one.

Emails: the tenant's subject and body (FulfillmentSettings), or when empty the house
templates under templates/fulfillment/email/, rendered with Django's template language from a
string, in a sandbox: an engine with no loaders, no `{% load %}`able libraries, no `include`,
`extends`, `debug` or `url`, and a context of plain strings and lists only (EMAIL_CONTEXT_KEYS),
never a model. A tenant template that does not render falls back to the house one, and the row
says so.

Channels: `orders.channels.channel_gateway_for(tenant, order.channel)`. Storefront orders
("api") and channels with no gateway registered are recorded as skipped.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template import Context, Engine, Library
from django.template.loader import get_template
from django.utils import timezone

from fulfillment.models import FulfillmentSettings, Shipment, ShipmentLine, ShipmentNotification
from fulfillment.states import NOTIFICATION_DONE, NotificationKind, NotificationState
from fulfillment.tracking import tracking_link
from orders.channels import (
    ChannelLine,
    ChannelRefused,
    ChannelUnavailable,
    TrackingPush,
    channel_gateway_for,
)
from orders.services import order_event_record
from orders.states import OrderEventType

logger = logging.getLogger(__name__)

K, N = NotificationKind, NotificationState
CLAIM_LEASE = timedelta(minutes=5)


class NotificationRetry(Exception):
    """Not sent yet, for a reason that passes (another worker holds the claim, the mail server or the
    channel is unreachable): the task retries with backoff."""


# --- claim and record ----------------------------------------------------------------------
def _rows(tenant: Any) -> Any:
    return ShipmentNotification.objects.for_tenant(tenant)


def notification_claim(*, shipment: Shipment, kind: str) -> ShipmentNotification | None:
    """The (shipment, kind) row, claimed for this run; None when it is done already.

    Raises NotificationRetry when another run claimed it less than CLAIM_LEASE ago.
    """
    tenant = shipment.tenant_id
    try:
        with transaction.atomic():
            row, _ = _rows(tenant).get_or_create(shipment=shipment, kind=kind, defaults={"tenant_id": tenant})
    except IntegrityError:  # created beside us
        row = _rows(tenant).get(shipment=shipment, kind=kind)
    if row.state in NOTIFICATION_DONE:
        return None
    now = timezone.now()
    claimed = (
        _rows(tenant)
        .filter(pk=row.pk, state=N.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        row.refresh_from_db()
        if row.state in NOTIFICATION_DONE:
            return None
        raise NotificationRetry(f"{kind} of shipment {shipment.pk} is being sent by another run")
    row.refresh_from_db()
    return row


def _finish(
    row: ShipmentNotification, state: str, *, recipient: str, subject: str = "", detail: str = ""
) -> None:
    _rows(row.tenant_id).filter(pk=row.pk, state=N.PENDING).update(
        state=state,
        recipient=recipient[:254],
        subject=subject[:200],
        detail=detail[:500],
        sent_at=timezone.now() if state == N.SENT else None,
        claimed_at=None,
    )
    row.refresh_from_db()


def _release(row: ShipmentNotification, *, detail: str) -> None:
    """Give the claim back after a transient failure: the next attempt may claim it at once."""
    _rows(row.tenant_id).filter(pk=row.pk, state=N.PENDING).update(claimed_at=None, detail=detail[:500])


def _note(shipment: Shipment, message: str, **data: Any) -> None:
    order_event_record(
        order=shipment.order,
        actor="notifications",
        type=OrderEventType.NOTE,
        message=message,
        data={"shipment": shipment.pk, **data},
    )


def _shipment(tenant_id: int, shipment_id: int) -> Shipment:
    return (
        Shipment.objects.for_tenant(tenant_id)
        .select_related("tenant", "order", "order__customer", "order__ship_to")
        .get(pk=shipment_id)
    )


def _lines(shipment: Shipment) -> list[ShipmentLine]:
    return list(
        ShipmentLine.objects.for_tenant(shipment.tenant_id)
        .filter(shipment=shipment)
        .select_related("sku")
        .order_by("pk")
    )


# --- the sandbox that renders tenants' templates ------------------------------------------
# Tags a tenant's template may not use: they reach files, URLs or the process.
DENIED_TAGS = frozenset({"debug", "include", "extends", "load", "url", "csrf_token"})
# Everything a template sees. Plain values only: strings, and lines as {sku, name, quantity}.
EMAIL_CONTEXT_KEYS = (
    "shop_name",
    "order_number",
    "customer_name",
    "shipment_number",
    "carrier",
    "service",
    "tracking_number",
    "tracking_url",
    "delivered_on",
    "lines",
)


def _sandbox() -> Engine:
    engine = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False)
    allowed = Library()
    for library in engine.template_builtins:
        allowed.tags.update({k: v for k, v in library.tags.items() if k not in DENIED_TAGS})
        allowed.filters.update(library.filters)
    engine.template_builtins = [allowed]
    return engine


SANDBOX = _sandbox()


def email_template_problem(text: str) -> str | None:
    """Why a tenant's template cannot be used (a message staff can act on), or None."""
    try:
        SANDBOX.from_string(text).render(Context(_sample_context(), autoescape=False))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _sample_context() -> dict[str, Any]:
    sample_line = {"sku": "SKU-1", "name": "Item", "quantity": 1}
    return dict.fromkeys(EMAIL_CONTEXT_KEYS, "") | {"lines": [sample_line]}


def email_context(shipment: Shipment) -> dict[str, Any]:
    order = shipment.order
    customer = order.customer
    delivered = timezone.localtime(shipment.delivered_at).date().isoformat() if shipment.delivered_at else ""
    return {
        "shop_name": str(shipment.tenant.name),
        "order_number": str(order.number),
        "customer_name": str(customer.name or order.ship_to.name or ""),
        "shipment_number": str(shipment.number),
        "carrier": str(shipment.carrier),
        "service": str(shipment.service),
        "tracking_number": str(shipment.tracking_number),
        "tracking_url": tracking_link(shipment),
        "delivered_on": delivered,
        "lines": [
            {"sku": str(line.sku.code), "name": str(line.sku.name), "quantity": int(line.quantity)}
            for line in _lines(shipment)
        ],
    }


HOUSE = {
    K.SHIPPED_EMAIL: ("fulfillment/email/shipped_subject.txt", "fulfillment/email/shipped_body.txt"),
    K.DELIVERED_EMAIL: ("fulfillment/email/delivered_subject.txt", "fulfillment/email/delivered_body.txt"),
}


def _house_source(name: str) -> str:
    return str(get_template(name).template.source)  # type: ignore[attr-defined]


def _render(source: str, context: dict[str, Any]) -> str:
    return SANDBOX.from_string(source).render(Context(context, autoescape=False))


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    from_email: str
    detail: str = ""  # e.g. the tenant's template failed and the house one was used


def shipment_email_build(shipment: Shipment, kind: str) -> Email:
    """The email of `kind` for this shipment, from the tenant's templates or the house ones."""
    config = FulfillmentSettings.objects.for_tenant(shipment.tenant_id).first()
    own_subject, own_body = "", ""
    if config is not None:
        if kind == K.SHIPPED_EMAIL:
            own_subject, own_body = config.shipped_email_subject, config.shipped_email_body
        else:
            own_subject, own_body = config.delivered_email_subject, config.delivered_email_body
    context = email_context(shipment)
    house_subject, house_body = HOUSE[kind]
    problems: list[str] = []

    def render(own: str, house: str, what: str) -> str:
        if own.strip():
            try:
                return _render(own, context)
            except Exception as exc:  # a syntax error, a filter that raised
                problems.append(f"the shop's {what} template failed ({type(exc).__name__}: {exc})")
        return _render(_house_source(house), context)

    subject = " ".join(render(own_subject, house_subject, "subject").split())[:200]
    body = render(own_body, house_body, "body")
    from_email = (config.email_from if config else "") or settings.DEFAULT_FROM_EMAIL
    return Email(subject=subject, body=body, from_email=from_email, detail="; ".join(problems))


# --- the services the tasks call ------------------------------------------------------------
EMAIL_KINDS = (K.SHIPPED_EMAIL, K.DELIVERED_EMAIL)


def shipment_email_send(*, tenant_id: int, shipment_id: int, kind: str) -> ShipmentNotification | None:
    """Send the customer the shipped or delivered email of a shipment, once. Returns the row, or
    None when it had been sent (or skipped) before."""
    if kind not in EMAIL_KINDS:
        raise ValueError(f"not an email kind: {kind!r}")
    shipment = _shipment(tenant_id, shipment_id)
    row = notification_claim(shipment=shipment, kind=kind)
    if row is None:
        return None
    recipient = (shipment.order.customer.email or "").strip()
    if not recipient:
        _finish(row, N.SKIPPED, recipient="", detail="The customer has no email address.")
        return row
    email = shipment_email_build(shipment, kind)
    message = EmailMessage(
        subject=email.subject, body=email.body, from_email=email.from_email, to=[recipient]
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        _release(row, detail=f"The mail server failed: {type(exc).__name__}: {exc}")
        raise NotificationRetry(str(exc)) from exc
    with transaction.atomic():
        _finish(row, N.SENT, recipient=recipient, subject=email.subject, detail=email.detail)
        _note(shipment, f"{K(kind).label} sent to {recipient}", kind=kind)
    return row


def _channel_lines(shipment: Shipment) -> tuple[ChannelLine, ...]:
    return tuple(
        ChannelLine(order_line_id=line.order_line_id, sku=line.sku.code, quantity=line.quantity)
        for line in _lines(shipment)
        if line.quantity
    )


def shipment_tracking_push(*, tenant_id: int, shipment_id: int) -> ShipmentNotification | None:
    """Push the shipment's tracking to the channel its order came from, once. A channel with no
    gateway ("api": the storefront reads tracking from the REST API) is recorded as skipped."""
    shipment = _shipment(tenant_id, shipment_id)
    row = notification_claim(shipment=shipment, kind=K.CHANNEL_TRACKING)
    if row is None:
        return None
    order = shipment.order
    gateway = channel_gateway_for(shipment.tenant, order.channel)
    if gateway is None:
        _finish(
            row,
            N.SKIPPED,
            recipient=order.channel,
            detail=f"Nothing is pushed to the {order.channel!r} channel.",
        )
        return row
    push = TrackingPush(
        reference=shipment.number,
        order_external_id=order.external_id,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=tracking_link(shipment),
        lines=_channel_lines(shipment),
    )
    try:
        gateway.push_tracking(push=push)
    except ChannelUnavailable as exc:
        _release(row, detail=f"The channel is unreachable: {exc}")
        raise NotificationRetry(str(exc)) from exc
    except ChannelRefused as exc:
        with transaction.atomic():
            _finish(row, N.FAILED, recipient=order.channel, detail=exc.message)
            _note(shipment, f"The {order.channel} channel refused the tracking: {exc.message}", kind=row.kind)
        return row
    with transaction.atomic():
        _finish(row, N.SENT, recipient=order.channel)
        _note(shipment, f"Tracking pushed to {order.channel}", kind=row.kind)
    return row
