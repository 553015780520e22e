"""REST authentication: `Authorization: Bearer <tenant API key>`, or a staff session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from oms.core.tenancy import attach_membership

LAST_USED_RESOLUTION = timedelta(seconds=60)


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
        from oms.models import ApiKey

        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        raw = raw.strip()
        prefix = ApiKey.split_raw_key(raw) if raw else None
        key = (
            ApiKey.objects.unscoped().select_related("tenant").filter(prefix=prefix).first()
            if prefix
            else None
        )
        if key is None or not key.matches(raw) or not key.is_active or not key.tenant.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.", code="invalid_api_key")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
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
