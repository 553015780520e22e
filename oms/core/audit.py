"""Writing audit events. Services call `audit_record`; nothing edits or deletes them.

`audit_event` makes the row without writing it, for a caller that inserts it together with other
rows in one statement (the order placement: orders/fastpath.py `timeline_and_audit_insert`). It is
only ever inserted: the model's guards and, on PostgreSQL, a trigger refuse UPDATE and DELETE.

The audit never holds a secret: a secret field of the audited model (`oms.core.fields`:
encrypted fields and the model's SECRET_FIELDS) is recorded only as "changed", whoever the
caller is, and the model's current secret values are masked wherever else they appear.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from oms.core.fields import SECRET_CHANGED, secret_field_names
from oms.core.request_id import get_request_id

MIN_MASKED_LENGTH = 6  # shorter "secrets" (a test's "x") would mask ordinary words


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


def _audited_model(obj: Any, object_type: str | None) -> type[models.Model] | None:
    if isinstance(obj, models.Model):
        return type(obj)
    if object_type and object_type.count(".") == 1:
        try:
            return apps.get_model(object_type)
        except LookupError:
            return None
    return None


def redact_secrets(value: Any, *, names: frozenset[str], values: frozenset[str] = frozenset()) -> Any:
    """`value` (a JSON-like before/after) with secret keys as "changed" and secret values masked."""
    if isinstance(value, dict):
        return {
            key: SECRET_CHANGED if key in names else redact_secrets(item, names=names, values=values)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(item, names=names, values=values) for item in value]
    if isinstance(value, str):
        for secret in values:
            if secret in value:
                value = value.replace(secret, SECRET_CHANGED)
    return value


def _secrets_of(obj: Any, names: frozenset[str]) -> frozenset[str]:
    found = (getattr(obj, name, None) for name in names) if isinstance(obj, models.Model) else ()
    return frozenset(v for v in found if isinstance(v, str) and len(v) >= MIN_MASKED_LENGTH)


def audit_event(
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
    """The audit row (secrets redacted, the request id noted), made but not written."""
    from oms.models import AuditEvent

    user, label = actor_of(actor)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id if object_id is not None else obj.pk
    model = _audited_model(obj, object_type)
    if model is not None:
        names = secret_field_names(model)
        values = _secrets_of(obj, names)
        before = redact_secrets(before, names=names, values=values)
        after = redact_secrets(after, names=names, values=values)
    return AuditEvent(
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
    """Write an audit event now (in the caller's transaction)."""
    event = audit_event(
        tenant=tenant,
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
    event.save()
    return event
