"""Admin for vendor accounts (secrets write-only) and the inbound event inbox (read-only + replay)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.inbox import inbound_events_replay
from integrations.models import ChannelAccount, InboundEvent, InboundEventState
from oms.core.admin import TenantAdmin, capability_action, read_only
from oms.core.roles import Capability

SECRET_FIELDS = ("credentials", "webhook_secret")


class ChannelAccountForm(forms.ModelForm):
    """Secrets are never rendered back; leaving one blank on edit keeps the stored value."""

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
        fields = ("kind", "name", "base_url", "credentials", "webhook_secret", "active")

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
    list_display = ("name", "kind", "active", "base_url", "credentials_status", "webhook_secret_status")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    # Managers see the accounts (secrets masked); only owners touch credentials and base URLs.
    capabilities = {
        "view": Capability.INTEGRATIONS_VIEW,
        "add": Capability.CREDENTIALS_MANAGE,
        "change": Capability.CREDENTIALS_MANAGE,
        "delete": Capability.CREDENTIALS_MANAGE,
    }

    @admin.display(description="API key")
    def credentials_status(self, obj: ChannelAccount) -> str:
        return _masked(obj.credentials)

    @admin.display(description="Webhook secret")
    def webhook_secret_status(self, obj: ChannelAccount) -> str:
        return _masked(obj.webhook_secret)


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
