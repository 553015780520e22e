"""REST authentication: `Authorization: Bearer <tenant API key>`, or a staff session.

The key's row (with its tenant) is kept in Django's cache under its prefix, so a request reads no
row (Redis in production, shared by every process). Revocation stays immediate: saving or deleting
a key, or saving or deleting its tenant, puts a short "read the database" mark in place of the
entry, at once and again when the transaction commits. A reader never overwrites that mark (it
fills the cache with `add`), so a request that read the row just before a revocation committed
cannot put the old row back. The mark lasts INVALIDATED_SECONDS; after it the next request caches
the row again. The hash is checked on every request, from the cached row.

With a per-process cache (locmem) a change made in another process would not reach this one, so
the cache is used only when it is shared (API_KEY_CACHE "auto", the default), or when the setting
says "on" (one process serves the API and makes every change: a bench, runserver).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions

from oms.core.tenancy import attach_membership
from oms.models import ApiKey, Tenant

LAST_USED_RESOLUTION = timedelta(seconds=60)
CACHE_SECONDS = 300
INVALIDATED_SECONDS = 10
READ_THE_DATABASE = "read-the-database"


def _key(prefix: str) -> str:
    return f"auth:api_key:{prefix}"


def _used_key(pk: int) -> str:
    return f"auth:api_key_used:{pk}"


def api_key_cache_on() -> bool:
    mode = getattr(settings, "API_KEY_CACHE", "auto")
    if mode == "auto":
        return not isinstance(caches["default"], LocMemCache | DummyCache)
    return mode == "on"


def api_key_forget(prefixes: list[str]) -> None:
    """Mark the keys' entries "read the database" now and again when the transaction commits."""
    if not prefixes:
        return
    marks = dict.fromkeys((_key(p) for p in prefixes), READ_THE_DATABASE)
    cache.set_many(marks, INVALIDATED_SECONDS)
    transaction.on_commit(lambda: cache.set_many(marks, INVALIDATED_SECONDS))


def _on_api_key_changed(sender: Any, instance: Any, created: bool = False, **_: Any) -> None:
    if instance.prefix and not created:  # a new key has nothing cached yet
        api_key_forget([instance.prefix])


def _on_tenant_changed(sender: Any, instance: Any, **_: Any) -> None:
    # A tenant switched off switches off its keys: rare, so one read of their prefixes.
    api_key_forget(list(ApiKey.objects.for_tenant(instance.pk).values_list("prefix", flat=True)))


post_save.connect(_on_api_key_changed, sender=ApiKey, dispatch_uid="oms.api_key_cache.save")
post_delete.connect(_on_api_key_changed, sender=ApiKey, dispatch_uid="oms.api_key_cache.delete")
post_save.connect(_on_tenant_changed, sender=Tenant, dispatch_uid="oms.api_key_cache.tenant_save")


def _api_key_by_prefix(prefix: str) -> Any:
    """The key row with its tenant (or None): from the cache when it holds it, else the database."""
    use_cache = api_key_cache_on()
    cached = cache.get(_key(prefix)) if use_cache else None
    if cached is not None and cached != READ_THE_DATABASE:
        return cached
    key = ApiKey.objects.unscoped().select_related("tenant").filter(prefix=prefix).first()
    if use_cache and cached is None and key is not None:
        cache.add(_key(prefix), key, CACHE_SECONDS)  # never over a "read the database" mark
    return key


def _note_use(key: Any) -> None:
    """Record last_used_at at most once a LAST_USED_RESOLUTION per key."""
    now = timezone.now()
    if api_key_cache_on():
        due = cache.add(_used_key(key.pk), 1, int(LAST_USED_RESOLUTION.total_seconds()))
    else:
        due = key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION
    if due:
        ApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class ApiKeyPrincipal:
    """Stands in for request.user when a storefront calls with an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: Any) -> None:
        self.api_key = api_key
        self.tenant = api_key.tenant
        self.role = api_key.role

    @property
    def actor_label(self) -> str:
        return f"api_key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return self.actor_label


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request: Any) -> tuple[ApiKeyPrincipal, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        raw = raw.strip()
        prefix = ApiKey.split_raw_key(raw) if raw else None
        key = _api_key_by_prefix(prefix) if prefix else None
        if key is None or not key.matches(raw) or not key.is_active or not key.tenant.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.", code="invalid_api_key")
        _note_use(key)
        django_request = request._request
        django_request.tenant = key.tenant
        django_request.role = key.role
        django_request.api_key = key
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """A signed-in staff member acts for the tenant of their membership."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        attach_membership(request._request, result[0])
        return result
