from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from oms.core.admin import (
    CapabilityAdminMixin,
    TenantAdmin,
    capability_action,
    is_superuser,
    read_only,
    requires_capability,
)
from oms.core.roles import Capability
from oms.models import ApiKey, AuditEvent, Membership, OutboxMessage, Tenant
from oms.services import api_key_create, api_key_revoke, membership_invite

admin.site.site_header = "OMS"
admin.site.site_title = "OMS admin"
admin.site.index_title = "Order operations"

PLATFORM_ONLY = dict.fromkeys(("view", "add", "change", "delete"), Capability.PLATFORM)

# Django's own user and group pages: the platform's superusers only. Staff join a tenant by
# email from the Membership page, never by picking from every user.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PlatformUserAdmin(CapabilityAdminMixin, UserAdmin, ModelAdmin):
    form, add_form, change_password_form = UserChangeForm, UserCreationForm, AdminPasswordChangeForm
    capabilities = PLATFORM_ONLY

    @requires_capability(Capability.PLATFORM)
    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        return super().user_change_password(request, id, form_url)


@admin.register(Group)
class PlatformGroupAdmin(CapabilityAdminMixin, GroupAdmin, ModelAdmin):
    capabilities = PLATFORM_ONLY


@admin.register(Tenant)
class TenantModelAdmin(CapabilityAdminMixin, ModelAdmin):
    list_display = ["slug", "name", "is_active", "allow_split_shipments", "allow_backorder", "capture_policy"]
    search_fields = ["slug", "name"]
    capabilities = {
        "view": Capability.TENANT_VIEW,
        "add": Capability.PLATFORM,
        "change": Capability.TENANT_SETTINGS,
        "delete": None,
    }

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(pk=tenant.pk) if tenant else qs.none()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if is_superuser(request) else ("slug", "is_active")


class MembershipAddForm(forms.ModelForm):
    """Staff are added by email: an existing user with it joins, else one is made and invited."""

    email = forms.EmailField(help_text="They get an email; a new user sets a password from it.")

    class Meta:
        model = Membership
        fields = ["role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        tenant_id = self.instance.tenant_id or getattr(data.get("tenant"), "pk", None)
        email = data.get("email")
        if email and tenant_id:
            email = email.strip()
            same_person = Q(user__email__iexact=email) | Q(user__username__iexact=email)
            if Membership.objects.for_tenant(tenant_id).filter(same_person).exists():
                self.add_error("email", "Already on this tenant's staff.")
        return data


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username"]
    capabilities = dict.fromkeys(("view", "add", "change", "delete"), Capability.STAFF_MANAGE)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ["user", "role"]
        return ["tenant", "email", "role"] if is_superuser(request) else ["email", "role"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user"] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        tenant = obj.tenant if obj.tenant_id else request.tenant  # type: ignore[attr-defined]
        membership, _ = membership_invite(
            tenant=tenant,
            email=form.cleaned_data["email"],
            role=obj.role,
            actor=request.user,
            origin=request.build_absolute_uri("/"),
        )
        obj.pk, obj.user, obj.tenant = membership.pk, membership.user, tenant
        obj.created_at = membership.created_at
        obj._state.adding = False


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "prefix", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at", "created_by"]
    fields = ["name", "role", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]
    capabilities = dict.fromkeys(("view", "add", "change", "delete"), Capability.API_KEYS_MANAGE)

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

    @capability_action(Capability.API_KEYS_MANAGE, description="Revoke the selected keys")
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

    capabilities = read_only(Capability.AUDIT_VIEW)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(CapabilityAdminMixin, ModelAdmin):
    """Read-only: what waits to be sent, what was sent and what failed. Superusers see every row,
    owners their tenant's. Acting on rows is `manage.py outbox` (docs/outbox.md)."""

    list_display = ["id", "task", "state", "attempts", "created_at", "available_at", "sent_at", "done_at"]
    list_filter = ["state", "task"]
    search_fields = ["task", "last_error", "request_id"]
    date_hierarchy = "created_at"
    capabilities = read_only(Capability.OUTBOX_VIEW)

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request).select_related("tenant")
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        return qs.filter(tenant=tenant) if tenant is not None else qs.none()

    def may(self, request: HttpRequest, door: str, obj: Any = None) -> bool:
        if obj is not None and not is_superuser(request):
            tenant = getattr(request, "tenant", None)
            if tenant is None or obj.tenant_id != tenant.pk:
                return False
        return super().may(request, door, obj)

    def get_list_display(self, request: HttpRequest) -> Any:
        return [*self.list_display, "tenant"] if is_superuser(request) else self.list_display

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]
