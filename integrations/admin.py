"""Admin for vendor accounts (secrets write-only) and the inbound event inbox (read-only + replay)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import CharField, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from integrations.inbox import inbound_events_replay
from integrations.ingest import sku_mapping_save, unmapped_lines_resolve, unmapped_skus
from integrations.models import (
    ChannelAccount,
    ChannelOrder,
    ChannelStock,
    InboundEvent,
    InboundEventState,
    SkuMapping,
)
from integrations.polling import channel_sync_now
from integrations.services import channel_account_rotate_webhook_token
from oms.core.admin import TenantAdmin, capability_action, read_only
from oms.core.fields import secret_field_names
from oms.core.roles import Capability
from oms.core.tasks import enqueue_on_commit

FORM_FIELDS = (
    "kind",
    "name",
    "base_url",
    "credentials",
    "webhook_secret",
    "active",
    "poll_interval_seconds",
    "stock_buffer",
    "oversell_rule",
)
SYNC_FIELDS = ("poll_interval_seconds", "stock_buffer", "oversell_rule")
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
        for name in SYNC_FIELDS:  # optional on the form: left out, the stored (or default) value stays
            if name in self.fields:
                self.fields[name].required = False

    def clean_poll_interval_seconds(self) -> int:
        return self._kept("poll_interval_seconds")

    def clean_stock_buffer(self) -> int:
        return self._kept("stock_buffer")

    def clean_oversell_rule(self) -> str:
        return self._kept("oversell_rule")

    def _kept(self, name: str) -> Any:
        value = self.cleaned_data.get(name)
        if value in (None, ""):
            return getattr(self.instance, name)
        return value

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
        "sync_status",
        "unmapped_count",
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
    readonly_fields = (
        "webhook_url",
        "last_sync_status",
        "last_sync_at",
        "last_sync_error",
        "last_poll_at",
        "sync_cursor",
        "sku_mappings",
        "unmapped_skus_to_map",
        "inbox",
    )
    actions = ["rotate_webhook_tokens", "sync_now", "publish_stock_now"]

    @capability_action(
        Capability.INTEGRATIONS_SYNC,
        description="Sync now: poll the selected (polled) accounts for new and changed orders",
    )
    def sync_now(self, request: HttpRequest, queryset: QuerySet[ChannelAccount]) -> None:
        accounts = list(queryset.order_by("pk").values_list("tenant_id", "pk"))
        queued = sum(channel_sync_now(tenant=tenant, account_ids=[pk]) for tenant, pk in accounts)
        level = messages.SUCCESS if queued else messages.WARNING
        skipped = len(accounts) - queued
        note = f" {skipped} skipped (inactive, or orders come by webhook)." if skipped else ""
        self.message_user(request, f"A poll was queued for {queued} account(s).{note}", level)

    @capability_action(
        Capability.INTEGRATIONS_SYNC,
        description="Publish stock to the selected accounts now (what changed since the last time)",
    )
    def publish_stock_now(self, request: HttpRequest, queryset: QuerySet[ChannelAccount]) -> None:
        accounts = list(queryset.filter(active=True).order_by("pk"))
        with transaction.atomic():
            for account in accounts:
                enqueue_on_commit(
                    "integrations.tasks.channel_stock_publish_task",
                    tenant_id=account.tenant_id,
                    account_id=account.pk,
                )
        self.message_user(
            request, f"Stock publishing queued for {len(accounts)} account(s).", messages.SUCCESS
        )

    @admin.display(description="Sync")
    def sync_status(self, obj: ChannelAccount) -> str:
        if obj.last_sync_at is None:
            return obj.get_last_sync_status_display()
        return f"{obj.get_last_sync_status_display()} at {obj.last_sync_at:%Y-%m-%d %H:%M}"

    @admin.display(description="Unmapped SKUs")
    def unmapped_count(self, obj: ChannelAccount) -> int:
        return len(unmapped_skus(obj))

    @admin.display(description="Unmapped SKUs (orders on hold for them)")
    def unmapped_skus_to_map(self, obj: ChannelAccount) -> str:
        if obj.pk is None:
            return "-"
        waiting = unmapped_skus(obj)
        if not waiting:
            return "None."
        add = reverse("admin:integrations_skumapping_add")
        return format_html_join(
            "",
            '<p>{} {} — {} unit(s) in {} order(s): <a href="{}?{}">map it</a></p>',
            (
                (
                    item["channel_sku"] or "(no SKU)",
                    f"variant {item['channel_variant_id']}" if item["channel_variant_id"] else "",
                    item["units"],
                    item["orders"],
                    add,
                    urlencode(
                        {
                            "account": obj.pk,
                            "channel_sku": item["channel_sku"],
                            "channel_variant_id": item["channel_variant_id"],
                        }
                    ),
                )
                for item in waiting
            ),
        )

    @admin.display(description="SKU mappings")
    def sku_mappings(self, obj: ChannelAccount) -> str:
        if obj.pk is None:
            return "-"
        mappings = obj.sku_mappings.select_related("sku").order_by("channel_sku", "channel_variant_id")[:50]
        listing = format_html_join(
            "",
            "<li>{} {} → {}</li>",
            (
                (
                    m.channel_sku,
                    f"(variant {m.channel_variant_id})" if m.channel_variant_id else "",
                    m.sku.code,
                )
                for m in mappings
            ),
        )
        url = reverse("admin:integrations_skumapping_changelist")
        return format_html(
            '<ul>{}</ul><a href="{}?account__id__exact={}">All mappings of this account</a>',
            listing or "none",
            url,
            obj.pk,
        )

    @admin.display(description="Inbox")
    def inbox(self, obj: ChannelAccount) -> str:
        if obj.pk is None:
            return "-"
        events = reverse("admin:integrations_inboundevent_changelist")
        orders = reverse("admin:integrations_channelorder_changelist")
        return format_html(
            '<a href="{}?account__id__exact={}">This account\'s deliveries</a> · '
            '<a href="{}?account__id__exact={}">its channel orders</a>',
            events,
            obj.pk,
            orders,
            obj.pk,
        )

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
    list_filter = ("source", "state", "event_type", "account")
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


class SkuMappingForm(forms.ModelForm):
    class Meta:
        model = SkuMapping
        fields = ("account", "channel_sku", "channel_variant_id", "channel_listing_id", "sku")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            not (cleaned.get("channel_sku") or "").strip()
            and not (cleaned.get("channel_variant_id") or "").strip()
        ):
            raise forms.ValidationError("Give the channel's SKU, its variant id, or both.")
        return cleaned


@admin.register(SkuMapping)
class SkuMappingAdmin(TenantAdmin):
    """Saving a mapping gives the waiting order lines their SKU and releases their orders' holds."""

    form = SkuMappingForm
    list_display = ("channel_sku", "channel_variant_id", "channel_listing_id", "sku", "account", "created_at")
    list_filter = ("account",)
    search_fields = ("channel_sku", "channel_variant_id", "sku__code")
    capabilities = {
        "view": Capability.INTEGRATIONS_VIEW,
        "add": Capability.CHANNEL_SKUS_MAP,
        "change": Capability.CHANNEL_SKUS_MAP,
        "delete": Capability.CHANNEL_SKUS_MAP,
    }

    def save_model(self, request: HttpRequest, obj: SkuMapping, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            released = unmapped_lines_resolve(account=obj.account, actor=request.user)
        else:
            mapping, released = sku_mapping_save(
                account=obj.account,
                sku=obj.sku,
                channel_sku=obj.channel_sku,
                channel_variant_id=obj.channel_variant_id,
                channel_listing_id=obj.channel_listing_id,
                actor=request.user,
            )
            obj.pk = mapping.pk
        if released:
            self.message_user(
                request, f"{released} order(s) released from the unmapped-SKU hold.", messages.SUCCESS
            )


@admin.register(ChannelOrder)
class ChannelOrderAdmin(TenantAdmin):
    """Marketplace orders as received, and the order made of each (read-only)."""

    list_display = ("external_id", "name", "account", "state", "order", "attention", "channel_updated_at")
    list_filter = ("state", "account")
    search_fields = ("external_id", "name", "order__number")
    readonly_fields = (
        "account",
        "external_id",
        "name",
        "order",
        "state",
        "attention",
        "channel_updated_at",
        "notes",
        "data",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    capabilities = read_only(Capability.INTEGRATIONS_VIEW)


@admin.register(ChannelStock)
class ChannelStockAdmin(TenantAdmin):
    """What each account was last told it may sell of each mapped SKU (read-only)."""

    list_display = ("sku", "account", "wanted_quantity", "published_quantity", "published_at", "error")
    list_filter = ("account",)
    search_fields = ("sku__code",)
    readonly_fields = (
        "account",
        "sku",
        "wanted_quantity",
        "published_quantity",
        "published_at",
        "error",
        "updated_at",
    )
    fields = readonly_fields
    capabilities = read_only(Capability.INTEGRATIONS_VIEW)
