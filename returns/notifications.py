"""The return label, emailed to the customer once it is bought (through the outbox, once).

`return_label_email_send` claims the return's email (a guarded update of
`label_email_claimed_at`: two deliveries of the task cannot both send), sends it through
Django's email backend from the tenant's fulfillment `email_from` (else DEFAULT_FROM_EMAIL) to
the order's customer, with the label file attached when fulfillment stored it (else its URL in
the text), and stamps `label_emailed_at`. A mail server failure gives the claim back and the
task retries; a worker that dies after sending and before stamping sends again once the claim
lapses (at least once, never twice for a finished one). The text is the house template
`templates/returns/email/label_{subject,body}.txt`.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from fulfillment.models import FulfillmentSettings
from returns.eligibility import return_policy
from returns.models import ReturnRequest
from returns.services import record
from returns.states import LabelPayer

logger = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)


class EmailRetry(Exception):
    """Not sent yet for a reason that passes (the mail server, another worker's claim): retry."""


def _claim(tenant: Any, return_id: int) -> bool:
    now = timezone.now()
    return (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(pk=return_id, label_emailed_at__isnull=True, label_id__isnull=False)
        .filter(Q(label_email_claimed_at__isnull=True) | Q(label_email_claimed_at__lt=now - CLAIM_LEASE))
        .update(label_email_claimed_at=now)
        == 1
    )


def label_email_context(ret: ReturnRequest) -> dict[str, Any]:
    label = ret.label
    assert label is not None
    order = ret.order
    policy = return_policy(ret.tenant_id)
    return {
        "shop_name": ret.tenant.name,
        "rma_number": ret.rma_number,
        "order_number": order.number,
        "customer_name": order.customer.name or order.ship_to.name,
        "label_url": label.label_url,
        "label_attached": bool(label.label_file),
        "tracking_number": label.tracking_number,
        "customer_pays_label": policy.label_payer == LabelPayer.CUSTOMER and bool(label.amount),
        "label_price": f"{label.amount} {label.currency}" if label.amount else "",
        "lines": [
            {"sku": line.sku.code, "name": line.sku.name, "quantity": line.quantity}
            for line in ret.lines.select_related("sku")
        ],
    }


def return_label_email_send(*, tenant: Any, return_id: int) -> bool:
    """Email the return label to the customer, once. True when sent now."""
    ret = (
        ReturnRequest.objects.for_tenant(tenant)
        .select_related("tenant", "label", "order__customer", "order__ship_to")
        .get(pk=return_id)
    )
    if ret.label_emailed_at is not None or ret.label is None:
        return False
    recipient = (ret.order.customer.email or "").strip()
    if not recipient:
        return False
    if not _claim(tenant, ret.pk):
        ret.refresh_from_db(fields=["label_emailed_at"])
        if ret.label_emailed_at is not None:
            return False
        raise EmailRetry(f"The label email of {ret.rma_number} is being sent by another worker.")
    context = label_email_context(ret)
    config = FulfillmentSettings.objects.for_tenant(tenant).first()
    message = EmailMessage(
        subject=render_to_string("returns/email/label_subject.txt", context).strip(),
        body=render_to_string("returns/email/label_body.txt", context),
        from_email=(config.email_from if config else "") or settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    label = ret.label
    if label.label_file:
        try:
            with label.label_file.open("rb") as handle:
                message.attach(label.label_file.name.rsplit("/", 1)[-1], handle.read())
        except OSError:
            message.body += f"\nYour label: {label.label_url}\n"
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        ReturnRequest.objects.for_tenant(tenant).filter(pk=ret.pk).update(label_email_claimed_at=None)
        raise EmailRetry(str(exc)) from exc
    with transaction.atomic():
        ReturnRequest.objects.for_tenant(tenant).filter(pk=ret.pk).update(
            label_emailed_at=timezone.now(), label_email_claimed_at=None
        )
        record(
            ret, actor="task", action="label_emailed", before=ret.state, note=f"label emailed to {recipient}"
        )
    return True
