"""Admin: webhook endpoints (secret write-only), the delivery log (read-only, replay), the tenant's
email templates (defaults shown until changed) and the emails sent."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.emails import DEFAULTS, template_problem
from notifications.models import EmailNotification, EmailTemplate, WebhookDelivery, WebhookEndpoint
from notifications.states import EmailKind, EventType
from notifications.webhooks import endpoint_url_problem, event_body, webhook_deliveries_replay
from oms.core.admin import TenantAdmin, capability_action, read_only
from oms.core.roles import Capability

MIN_SECRET_LENGTH = 24


class WebhookEndpointForm(forms.ModelForm):
    """The secret is never rendered back; blank on edit keeps the stored one."""

    url = forms.URLField(max_length=500, assume_scheme="https", help_text="http:// or https:// only")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"The signing secret your system verifies with (at least {MIN_SECRET_LENGTH} characters). "
        "Leave blank to keep the stored one.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "secret", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["secret"] = ""

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = endpoint_url_problem(url)
        if problem:
            raise forms.ValidationError(problem, code="url_refused")
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if not secret:
            if self.instance.pk:
                return self.instance.secret
            raise forms.ValidationError("Set a signing secret.", code="required")
        if len(secret) < MIN_SECRET_LENGTH:
            raise forms.ValidationError(f"Use at least {MIN_SECRET_LENGTH} characters.", code="too_short")
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "event_list", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    # Managers see the endpoints; only owners, who hold the tenant's secrets, change them.
    capabilities = {
        "view": Capability.INTEGRATIONS_VIEW,
        "add": Capability.CREDENTIALS_MANAGE,
        "change": Capability.CREDENTIALS_MANAGE,
        "delete": Capability.CREDENTIALS_MANAGE,
    }

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events or []) or "none"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    list_display = (
        "event_type",
        "event_id",
        "endpoint",
        "state",
        "attempts",
        "response_code",
        "duration_ms",
        "last_error",
        "created_at",
    )
    list_filter = ("state", "event__type", "endpoint")
    search_fields = ("event__public_id",)
    list_select_related = ("event", "endpoint")
    readonly_fields = (
        "event_type",
        "event_id",
        "endpoint",
        "state",
        "attempts",
        "response_code",
        "duration_ms",
        "last_error",
        "replay_of",
        "last_attempt_at",
        "delivered_at",
        "created_at",
        "payload",
    )
    fields = readonly_fields
    actions = ["replay"]
    capabilities = read_only(Capability.INTEGRATIONS_VIEW)

    @admin.display(description="event")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="event id")
    def event_id(self, obj: WebhookDelivery) -> str:
        return obj.event.public_id

    @admin.display(description="payload")
    def payload(self, obj: WebhookDelivery) -> str:
        return (
            event_body(obj.event).decode() if obj.event.data is not None else "(built at the first attempt)"
        )

    @capability_action(
        Capability.INTEGRATIONS_REPLAY, description="Replay: send the selected deliveries' events again"
    )
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        tenant = getattr(request, "tenant", None)
        by_tenant: dict[int, list[int]] = {}
        for pk, tenant_id in queryset.values_list("pk", "tenant_id"):
            if tenant is None or tenant_id == tenant.pk:
                by_tenant.setdefault(tenant_id, []).append(pk)
        count = sum(
            webhook_deliveries_replay(tenant=tenant_id, delivery_ids=ids, actor=request.user)
            for tenant_id, ids in by_tenant.items()
        )
        self.message_user(
            request, f"{count} delivery(ies) queued again, with the same event ids.", messages.SUCCESS
        )


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ("kind", "enabled", "subject", "body")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        for name in ("subject", "body"):
            text = cleaned.get(name)
            if kind and text:
                problem = template_problem(kind, text)
                if problem:
                    self.add_error(name, f"This template does not render: {problem}")
        return cleaned


@admin.register(EmailTemplate)
class EmailTemplateAdmin(TenantAdmin):
    form = EmailTemplateForm
    list_display = ("kind", "enabled", "subject", "updated_at")
    capabilities = {
        "view": Capability.TENANT_VIEW,
        "add": Capability.TENANT_SETTINGS,
        "change": Capability.TENANT_SETTINGS,
        "delete": Capability.TENANT_SETTINGS,
    }

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new template starts from the house text of its kind (`?kind=`, else order confirmed)."""
        initial = super().get_changeform_initial_data(request)
        kind = initial.get("kind") if initial.get("kind") in EmailKind.values else EmailKind.ORDER_CONFIRMED
        subject, body = DEFAULTS[kind]
        return {"kind": kind, "subject": subject, "body": body, **initial}


@admin.register(EmailNotification)
class EmailNotificationAdmin(TenantAdmin):
    list_display = ("kind", "key", "state", "recipients", "subject", "sent_at", "detail")
    list_filter = ("kind", "state")
    search_fields = ("key", "recipients", "subject")
    readonly_fields = (
        "kind",
        "key",
        "state",
        "recipients",
        "subject",
        "detail",
        "attempts",
        "sent_at",
        "created_at",
    )
    fields = readonly_fields
    capabilities = read_only(Capability.AUDIT_VIEW)
