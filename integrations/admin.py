"""Admin for vendor accounts (secrets write-only) and the inbound event inbox (read-only + replay)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import CharField, QuerySet, Value
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from integrations.inbox import inbound_events_replay
from integrations.models import ChannelAccount, InboundEvent, InboundEventState
from integrations.services import channel_account_rotate_webhook_token
from oms.core.admin import TenantAdmin, capability_action, read_only
from oms.core.fields import secret_field_names
from oms.core.roles import Capability

FORM_FIELDS = ("kind", "name", "base_url", "credentials", "webhook_secret", "active")
SECRET_FIELDS = tuple(name for name in FORM_FIELDS if name in secret_field_names(ChannelAccount))


class ChannelAccountForm(forms.ModelForm):
    """Secrets are never rendered back; leaving one blank on edit keeps the stored value.

    The base_url is checked against VENDOR_BASE_URL_HOSTS by the model's clean().
    """

    credentials = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The secret API key. Leave blank to keep the stored one.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The webhook signing secret. Leave blank to keep the stored one.",
    )

    class Meta:
        model = ChannelAccount
        fields = FORM_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.initial[name] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)  # keep
        return cleaned


def _masked(value: str) -> str:
    return "•••• set" if value else "not set"


@admin.register(ChannelAccount)
class ChannelAccountAdmin(TenantAdmin):
    form = ChannelAccountForm
    list_display = (
        "name",
        "kind",
        "active",
        "base_url",
        "credentials_status",
        "webhook_secret_status",
        "webhook_url",
    )
    list_filter = ("kind", "active")
    search_fields = ("name",)
    # Managers see the accounts (secrets masked); only owners touch credentials and base URLs.
    capabilities = {
        "view": Capability.INTEGRATIONS_VIEW,
        "add": Capability.CREDENTIALS_MANAGE,
        "change": Capability.CREDENTIALS_MANAGE,
        "delete": Capability.CREDENTIALS_MANAGE,
    }
    readonly_fields = ("webhook_url",)
    actions = ["rotate_webhook_tokens"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelAccount]:
        # The site's own address as this request reached it, for the full webhook URLs.
        origin = request.build_absolute_uri("/").rstrip("/")
        return super().get_queryset(request).annotate(_origin=Value(origin, output_field=CharField()))

    @method_decorator(sensitive_post_parameters(*SECRET_FIELDS))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return super().changeform_view(request, *args, **kwargs)

    @admin.display(description="API key")
    def credentials_status(self, obj: ChannelAccount) -> str:
        return _masked(obj.credentials)

    @admin.display(description="Webhook secret")
    def webhook_secret_status(self, obj: ChannelAccount) -> str:
        return _masked(obj.webhook_secret)

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: ChannelAccount) -> str:
        if obj.pk is None:
            return "Shown once the account is saved."
        if not obj.receives_webhooks:
            return "None: this channel is polled."
        return getattr(obj, "_origin", "") + obj.webhook_path

    @capability_action(
        Capability.CREDENTIALS_MANAGE,
        description="Rotate the webhook URL of the selected accounts (the old URL stops working)",
    )
    def rotate_webhook_tokens(self, request: HttpRequest, queryset: QuerySet[ChannelAccount]) -> None:
        done = 0
        for account in queryset.order_by("pk"):
            channel_account_rotate_webhook_token(
                tenant=account.tenant_id, account_id=account.pk, actor=request.user
            )
            done += 1
        self.message_user(
            request,
            f"{done} webhook URL(s) rotated. Give each vendor the new URL shown on the account.",
            messages.SUCCESS,
        )


@admin.register(InboundEvent)
class InboundEventAdmin(TenantAdmin):
    list_display = (
        "received_at",
        "source",
        "event_type",
        "event_id",
        "state",
        "attempts",
        "deliveries",
        "account",
    )
    list_filter = ("source", "state", "event_type")
    search_fields = ("event_id", "event_type")
    date_hierarchy = "received_at"
    actions = ["replay_events"]
    readonly_fields = (
        "source",
        "account",
        "event_id",
        "event_type",
        "state",
        "outcome",
        "error",
        "attempts",
        "deliveries",
        "received_at",
        "last_received_at",
        "processed_at",
        "headers",
        "body",
    )
    fields = readonly_fields
    capabilities = read_only(Capability.INTEGRATIONS_VIEW)

    @capability_action(
        Capability.INTEGRATIONS_REPLAY, description="Replay the selected failed or dead events"
    )
    def replay_events(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        ids = list(
            queryset.filter(state__in=[InboundEventState.FAILED, InboundEventState.DEAD]).values_list(
                "pk", flat=True
            )
        )
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            events = InboundEvent.objects.unscoped().filter(pk__in=ids)
            done = sum(
                inbound_events_replay(tenant=e.tenant_id, event_ids=[e.pk], actor=request.user)
                for e in events
            )
        else:
            done = inbound_events_replay(tenant=tenant, event_ids=ids, actor=request.user)
        self.message_user(request, f"{done} event(s) sent for processing again.", messages.SUCCESS)
