from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone

from oms.core.admin import TenantAdmin, is_superuser
from oms.models import ApiKey, AuditEvent, Membership, OutboxMessage, Role, Tenant
from oms.services import api_key_create, api_key_revoke

admin.site.site_header = "OMS"
admin.site.site_title = "OMS admin"
admin.site.index_title = "Order operations"

OWNER_ONLY = {Role.OWNER: frozenset({"view", "add", "change", "delete"})}


@admin.register(Tenant)
class TenantModelAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_active", "allow_split_shipments", "allow_backorder", "capture_policy"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(pk=tenant.pk) if tenant else qs.none()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if is_superuser(request) else ("slug", "is_active")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request) or getattr(request, "role", None) is not None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return True
        tenant = getattr(request, "tenant", None)
        return tenant is not None and (obj is None or obj.pk == tenant.pk)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request) or (
            getattr(request, "role", None) == Role.OWNER and self.has_view_permission(request, obj)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username"]
    role_permissions = OWNER_ONLY


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "prefix", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at", "created_by"]
    fields = ["name", "role", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]
    role_permissions = OWNER_ONLY

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        tenant = obj.tenant if obj.tenant_id else request.tenant  # type: ignore[attr-defined]
        created, raw = api_key_create(tenant=tenant, name=obj.name, role=obj.role, actor=request.user)
        obj.pk, obj.prefix, obj.key_hash = created.pk, created.prefix, created.key_hash
        obj.tenant = tenant
        obj._state.adding = False
        messages.warning(request, f"The new API key is {raw} - copy it now, it will not be shown again.")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(tenant=key.tenant, api_key_id=key.pk, actor=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} key(s) at {timezone.now():%Y-%m-%d %H:%M}.")


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor", "request_id", "action"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> Any:
        return {}


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: what waits to be sent, what was sent and what failed. Superusers, and owners for
    their tenant's rows. Acting on rows is `manage.py outbox` (docs/outbox.md)."""

    list_display = ["id", "task", "state", "attempts", "created_at", "available_at", "sent_at", "done_at"]
    list_filter = ["state", "task"]
    search_fields = ["task", "last_error", "request_id"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request).select_related("tenant")
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(tenant=tenant) if tenant is not None else qs.none()

    def get_list_display(self, request: HttpRequest) -> Any:
        return [*self.list_display, "tenant"] if is_superuser(request) else self.list_display

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def _allowed(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_superuser(request):
            return True
        tenant = getattr(request, "tenant", None)
        if getattr(request, "role", None) != Role.OWNER or tenant is None:
            return False
        return obj is None or obj.tenant_id == tenant.pk

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> Any:
        return {}
