"""What a tenant wants told: the event types its active endpoints subscribe to and the email kinds
it sends. Read on the hot paths (every order placed, every allocation), so kept in Django's cache
(Redis in production, shared by every process) for CACHE_SECONDS and dropped whenever an
endpoint or a template is saved or deleted: a tenant with no endpoint and no opt-in email costs
no statement per order. A process with a local cache (the embedded mode) sees another process's
change within CACHE_SECONDS. A cached "yes" is only a hint: the writers read the endpoints and
the template again before writing anything, so a stale one costs a query, never a message."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from notifications.models import EmailTemplate, WebhookEndpoint
from notifications.states import OFF_BY_DEFAULT, EmailKind

CACHE_SECONDS = 60


@dataclass(frozen=True)
class Wants:
    events: frozenset[str]
    emails: frozenset[str]


def _key(tenant_id: int) -> str:
    return f"notifications:wants:{tenant_id}"


def tenant_wants(tenant_id: int) -> Wants:
    cached = cache.get(_key(tenant_id))
    if cached is not None:
        return Wants(frozenset(cached[0]), frozenset(cached[1]))
    events: set[str] = set()
    for subscribed in (
        WebhookEndpoint.objects.for_tenant(tenant_id).filter(active=True).values_list("events", flat=True)
    ):
        events.update(subscribed or [])
    own = dict(EmailTemplate.objects.for_tenant(tenant_id).values_list("kind", "enabled"))
    emails = {kind for kind in EmailKind.values if own.get(kind, kind not in OFF_BY_DEFAULT)}
    cache.set(_key(tenant_id), (sorted(events), sorted(emails)), CACHE_SECONDS)
    return Wants(frozenset(events), frozenset(emails))


def tenant_wants_forget(tenant_id: int) -> None:
    """Drop the cached answer now and again when the current transaction commits."""
    cache.delete(_key(tenant_id))
    transaction.on_commit(lambda: cache.delete(_key(tenant_id)))
