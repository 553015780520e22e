"""Lockouts, sign-ins and second-factor devices in the admin, for the staff of the signed-in tenant.

django-otp and django-axes register admin pages of their own that show every user's rows (and a
device's secret key); these replace them (AXES_ENABLE_ADMIN is off; the TOTP one is unregistered):
- everyone with `security.view` (owners, managers) sees the rows of their tenant's staff;
- with `staff.manage` (owners) they unlock an account and reset (delete) a device, of someone who
  works for their tenant alone (oms/security/rules.py); superusers see and clear every row.
No one adds or edits these rows here: people enrol their own device, and axes writes the rest.
"""

from __future__ import annotations

from typing import Any

from axes.conf import settings
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.core.admin import TenantAdmin, capability_action, is_superuser
from oms.core.audit import audit_record
from oms.core.roles import Capability
from oms.security import rules

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)

SEE_AND_CLEAR = {
    "view": Capability.SECURITY_VIEW,
    "add": None,
    "change": None,
    "delete": Capability.STAFF_MANAGE,
}


class StaffSecurityAdmin(TenantAdmin):
    """Rows that belong to a tenant through the staff member they are about (by user or username)."""

    user_field = "user"  # or "username"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if is_superuser(request):
            return qs
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return qs.none()
        if self.user_field == "username":
            return qs.filter(username__in=rules.staff_usernames(tenant))
        return qs.filter(user__memberships__tenant=tenant).distinct()

    def may_clear(self, request: HttpRequest, obj: Any) -> bool:
        """Whether the person behind `obj` is one this request may unlock or reset."""
        if is_superuser(request):
            return True
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return False
        helpable = rules.helpable_users(tenant)
        if self.user_field == "username":
            return helpable.filter(username=obj.username).exists()
        return helpable.filter(pk=obj.user_id).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or self.may_clear(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            if self.may_clear(request, obj):
                self.delete_model(request, obj)

    def audit(self, request: HttpRequest, action: str, object_id: Any, person: str) -> None:
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            audit_record(
                tenant=tenant,
                actor=request.user,
                action=action,
                object_type=self.model._meta.label_lower,
                object_id=object_id,
                before={"for": person},
            )


@admin.register(TOTPDevice)
class SecondFactorDeviceAdmin(StaffSecurityAdmin):
    capabilities = SEE_AND_CLEAR
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__email", "name"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]
    readonly_fields = fields  # never the secret key

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        person, pk = obj.user.get_username(), obj.pk
        super().delete_model(request, obj)
        self.audit(request, "security.device_reset", pk, person)


@admin.register(AccessAttempt)
class FailedSignInAdmin(StaffSecurityAdmin):
    """One row per username, address and browser that failed to sign in; a locked account's rows."""

    user_field = "username"
    capabilities = SEE_AND_CLEAR
    list_display = ["username", "status", "failures_since_start", "attempt_time", "ip_address", "user_agent"]
    search_fields = ["username", "ip_address"]
    fields = ["username", "failures_since_start", "attempt_time", "ip_address", "user_agent", "path_info"]
    readonly_fields = fields  # not the form data: it may hold what was typed
    actions = ["unlock"]

    @admin.display(description="status")
    def status(self, obj: AccessAttempt) -> str:
        cool_off = get_cool_off()
        if obj.failures_since_start < settings.AXES_FAILURE_LIMIT:
            return f"{settings.AXES_FAILURE_LIMIT - obj.failures_since_start} tries left"
        if cool_off is None:
            return "locked until unlocked"
        until = obj.attempt_time + cool_off
        if until <= timezone.now():
            return "unlocked (cool-off over)"
        return f"locked until {timezone.localtime(until):%H:%M %Z}"

    @capability_action(Capability.STAFF_MANAGE, description="Unlock the selected accounts")
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        usernames = sorted({a.username for a in queryset if a.username and self.may_clear(request, a)})
        for username in usernames:
            AxesProxyHandler.reset_attempts(username=username)
            self.audit(request, "security.lockout_cleared", username, username)
        skipped = len({a.username for a in queryset}) - len(usernames)
        if usernames:
            self.message_user(request, f"Unlocked {', '.join(usernames)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} account(s) also work for another tenant (or are the platform's): "
                "a platform superuser unlocks them.",
                messages.WARNING,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        person = obj.username
        super().delete_model(request, obj)
        self.audit(request, "security.lockout_cleared", person, person)


@admin.register(AccessLog)
class SignInLogAdmin(StaffSecurityAdmin):
    user_field = "username"
    capabilities = {"view": Capability.SECURITY_VIEW, "add": None, "change": None, "delete": None}
    list_display = ["username", "attempt_time", "logout_time", "ip_address", "user_agent"]
    search_fields = ["username", "ip_address"]
    fields = ["username", "attempt_time", "logout_time", "ip_address", "user_agent", "path_info"]
    readonly_fields = fields
