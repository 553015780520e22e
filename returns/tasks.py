"""Thin Celery entry points into the returns services: ids and tenant_id in, one service call.

Refunds retry only transient provider errors (and "another worker is talking to the provider for
this refund right now"); the services are idempotent, so a retry or a second delivery of the
message changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from oms.core.errors import ConflictError
from oms.models import Tenant
from orders.payments.gateway import PaymentGatewayUnavailable
from orders.payments.operations import OPERATION_IN_PROGRESS
from returns import services
from returns.notifications import EmailRetry, return_label_email_send
from returns.refunds import return_refund_execute

RETRY: dict[str, Any] = {"acks_late": True, "retry_backoff": True, "max_retries": 6}


def _tenant(tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


@shared_task(acks_late=True)
def return_label_sent_task(*, tenant_id: int, label_id: int) -> int | None:
    ret = services.return_label_sent(tenant=_tenant(tenant_id), label_id=label_id)
    return ret.pk if ret else None


@shared_task(acks_late=True)
def return_tracking_update_task(
    *, tenant_id: int, label_id: int, status: str, details: str = "", source: str = ""
) -> int | None:
    ret = services.return_tracking_update(
        tenant=_tenant(tenant_id),
        label_id=label_id,
        status=status,
        details=details,
        source=source or "webhook",
    )
    return ret.pk if ret else None


@shared_task(**RETRY, autoretry_for=(EmailRetry,))
def return_label_email_task(*, tenant_id: int, return_id: int) -> bool:
    return return_label_email_send(tenant=_tenant(tenant_id), return_id=return_id)


@shared_task(**RETRY, autoretry_for=(PaymentGatewayUnavailable,))
def return_refund_task(*, tenant_id: int, return_id: int) -> str:
    try:
        ret = return_refund_execute(tenant=_tenant(tenant_id), return_id=return_id)
    except ConflictError as exc:
        if exc.code == OPERATION_IN_PROGRESS:
            raise PaymentGatewayUnavailable(exc.message) from exc
        raise
    return str(ret.state)
