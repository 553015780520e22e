from __future__ import annotations

from celery import shared_task

from oms.core.audit import audit_record
from oms.core.outbox import outbox_purge, outbox_relay_pending
from oms.models import Tenant
from oms.services import staff_invitation_send


@shared_task(acks_late=True)
def worker_ping_task(*, tenant_id: int, token: str) -> str:
    """Proves a worker is alive and reads committed rows: writes an audit event carrying the token."""
    tenant = Tenant.objects.get(pk=tenant_id)
    audit_record(tenant=tenant, actor="task", action="worker.ping", object_type="worker", object_id=token)
    return token


@shared_task(acks_late=True)
def idempotency_records_purge_task() -> int:
    from oms.core.idempotency import idempotency_records_purge

    return idempotency_records_purge()


@shared_task(acks_late=True)
def outbox_relay_task() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): publish outbox rows the on-commit kick did not. Returns how many."""
    return outbox_relay_pending().sent


@shared_task(acks_late=True)
def outbox_purge_task() -> int:
    """Hourly: delete sent outbox rows past their retention."""
    return outbox_purge()


@shared_task(acks_late=True)
def staff_invitation_send_task(
    *, tenant_id: int, membership_id: int, new_user: bool, origin: str, inviter: str
) -> None:
    """Outbox: the invitation email of a staff member just added (oms.services.membership_invite)."""
    staff_invitation_send(
        tenant_id=tenant_id, membership_id=membership_id, new_user=new_user, origin=origin, inviter=inviter
    )
