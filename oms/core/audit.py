"""Writing audit events. Services call `audit_record`; nothing edits or deletes them."""

from __future__ import annotations

from typing import Any

from oms.core.request_id import get_request_id


def actor_of(actor: Any) -> tuple[Any, str]:
    """(user row or None, a label) for whoever acted: a user, an API key principal, a task."""
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    label = getattr(actor, "actor_label", None)
    if label:
        return None, str(label)
    if getattr(actor, "pk", None) is not None:
        return actor, f"user:{getattr(actor, 'email', '') or actor.get_username()}"
    return None, str(actor)


def audit_record(
    *,
    tenant: Any,
    actor: Any,
    action: str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: Any = None,
    after: Any = None,
) -> Any:
    from oms.models import AuditEvent

    user, label = actor_of(actor)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id if object_id is not None else obj.pk
    return AuditEvent.objects.create(
        tenant=tenant,
        actor_user=user,
        actor=label[:200],
        action=action,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        before=before,
        after=after,
        request_id=get_request_id()[:64],
    )
