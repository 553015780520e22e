"""Connector framework: per-tenant vendor accounts and the inbound event inbox."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from integrations.endpoints import validate_base_url
from oms.core.fields import EncryptedTextField
from oms.core.models import TenantOwned


class ChannelKind(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SHIPPO = "shippo", "Shippo"
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    AMAZON = "amazon", "Amazon"
    EBAY = "ebay", "eBay"


# Kinds that push webhooks to us (POST /webhooks/<kind>/<token>/); Amazon and eBay are polled.
WEBHOOK_KINDS = (ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE, ChannelKind.STRIPE, ChannelKind.SHIPPO)


class SyncStatus(models.TextChoices):
    NEVER = "never", "Never synced"
    OK = "ok", "OK"
    ERROR = "error", "Error"


class OversellRule(models.TextChoices):
    BACKORDER = "backorder", "Backorder with a promise date"
    CANCEL = "cancel", "Cancel back to the channel"


def new_webhook_token() -> str:
    """An unguessable webhook URL token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


# The prefix, then exactly the 43 characters of new_webhook_token(): an older token (43
# characters, no prefix) that happens to start like a prefix is never read as one.
_TENANT_TOKEN = re.compile(r"^t([0-9]{1,18})_[A-Za-z0-9_-]{43}$")


def webhook_token_for(tenant_id: int, token: str) -> str:
    """The token as stored: `t<tenant id>_<random>`, so a delivery names its tenant.

    A database distributed by tenant (docs/scaling.md) finds the account on one node; the
    prefix also makes the token unique across tenants, where the database keeps it unique
    only within one.
    """
    return token if token.startswith(f"t{tenant_id}_") else f"t{tenant_id}_{token}"


def tenant_of_webhook_token(token: str) -> int | None:
    """The tenant a token names; None for a token made before tokens carried their tenant."""
    match = _TENANT_TOKEN.match(token)
    return int(match.group(1)) if match else None


class ChannelAccount(TenantOwned):
    """One tenant's account at an outside system. The secrets are encrypted at rest and never shown.

    Secret fields (oms.core.fields): the encrypted `credentials` and `webhook_secret`, and the
    webhook URL token, which must stay searchable and so is named in SECRET_FIELDS.
    """

    SECRET_FIELDS = ("webhook_token",)

    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    base_url = models.CharField(
        max_length=300,
        blank=True,
        help_text="Blank: the vendor's real address. Another address (a sandbox, a local fake) is "
        "accepted only where VENDOR_BASE_URL_HOSTS allows its host.",
    )
    credentials = EncryptedTextField(blank=True, help_text="The secret API key. Write-only.")
    webhook_secret = EncryptedTextField(blank=True, help_text="The webhook signing secret. Write-only.")
    webhook_token = models.CharField(
        max_length=64,
        db_index=True,
        default=new_webhook_token,
        editable=False,
        help_text="The unguessable part of this account's webhook URL. Rotate it if the URL leaks.",
    )
    active = models.BooleanField(default=True)
    # --- marketplace sync (orders in, stock out) -----------------------------------------------
    sync_cursor = models.TextField(
        blank=True,
        editable=False,
        help_text="Where the next poll starts (a last-updated time and the vendor's page token). "
        "It moves only after a page's orders are committed.",
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=300, help_text="How often a polled channel is asked for new and changed orders."
    )
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER, editable=False
    )
    last_sync_error = models.TextField(blank=True, editable=False)
    last_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    # One poll of an account at a time: a lease taken by a compare-and-set UPDATE (polling.py).
    poll_lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    poll_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A short-lived access token got with the refresh token in `credentials` (Amazon's LWA, eBay).
    access_token = EncryptedTextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    stock_buffer = models.PositiveIntegerField(
        default=0,
        help_text="Units held back from this channel: it is offered what we can sell minus this.",
    )
    oversell_rule = models.CharField(
        max_length=10,
        choices=OversellRule.choices,
        default=OversellRule.BACKORDER,
        help_text="An order for stock already gone: keep it as a backorder, or cancel it back to "
        "the channel.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "name"], name="channelaccount_unique_name"),
            models.UniqueConstraint(fields=["tenant", "webhook_token"], name="channelaccount_unique_token"),
        ]
        indexes = [models.Index(fields=["tenant", "kind", "active"], name="channelaccount_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    def __repr__(self) -> str:  # never the secrets
        return f"<ChannelAccount {self.pk} {self.kind}:{self.name}>"

    def clean(self) -> None:
        super().clean()
        validate_base_url(self.base_url)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            self.webhook_token = webhook_token_for(self.tenant_id, self.webhook_token)
        super().save(*args, **kwargs)

    @property
    def receives_webhooks(self) -> bool:
        return self.kind in WEBHOOK_KINDS

    @property
    def webhook_path(self) -> str:
        """The path vendors POST this account's webhooks to ("" for polled kinds)."""
        if not self.receives_webhooks or not self.webhook_token:
            return ""
        return reverse("integrations:webhook", kwargs={"kind": self.kind, "token": self.webhook_token})


class InboundEventState(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead letter"
    REJECTED = "rejected", "Rejected"


class InboundEvent(ConcurrentTransitionMixin, TenantOwned):
    """A webhook delivery, stored before anything else happens to it.

    Verified deliveries are unique per (tenant, source, event_id); a redelivery only bumps
    `deliveries`. Deliveries that fail verification are kept too, as `rejected`, with an
    empty event_id (an unverified id must not occupy the slot of the real event).
    """

    source = models.CharField(max_length=20, choices=ChannelKind.choices)
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="inbound_events")
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    body = models.TextField(blank=True)
    state = FSMField(default=InboundEventState.RECEIVED, choices=InboundEventState.choices, protected=True)
    outcome = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)
    last_received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "event_id"],
                condition=~Q(event_id=""),
                name="inboundevent_unique_event",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "received_at"], name="inboundevent_state_idx"),
            models.Index(fields=["tenant", "source", "event_type"], name="inboundevent_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event_type or '?'} {self.event_id or self.pk} ({self.state})"

    # --- transitions: in memory only ---------------------------------------------------------
    @transition(
        field=state,
        source=[InboundEventState.RECEIVED, InboundEventState.FAILED],
        target=InboundEventState.PROCESSED,
    )
    def mark_processed(self, *, outcome: str = "") -> None:
        self.outcome = outcome[:200]
        self.error = ""

    @transition(
        field=state,
        source=[InboundEventState.RECEIVED, InboundEventState.FAILED],
        target=InboundEventState.IGNORED,
    )
    def mark_ignored(self, *, outcome: str) -> None:
        self.outcome = outcome[:200]
        self.error = ""

    @transition(
        field=state,
        source=[InboundEventState.RECEIVED, InboundEventState.FAILED],
        target=InboundEventState.FAILED,
    )
    def mark_failed(self, *, error: str) -> None:
        self.error = error[:4000]

    @transition(
        field=state,
        source=[InboundEventState.RECEIVED, InboundEventState.FAILED],
        target=InboundEventState.DEAD,
    )
    def mark_dead(self, *, error: str) -> None:
        self.error = error[:4000]

    @transition(
        field=state,
        source=[InboundEventState.FAILED, InboundEventState.DEAD],
        target=InboundEventState.RECEIVED,
    )
    def replay(self) -> None:
        self.attempts = 0


# --- marketplace orders ------------------------------------------------------------------------
class SkuMapping(TenantOwned):
    """A channel's name for one of our SKUs: its SKU text, its variant id and its listing id.

    An incoming line is matched by variant id first, then by the channel's SKU text.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="sku_mappings")
    channel_sku = models.CharField(max_length=255, blank=True)
    channel_variant_id = models.CharField(max_length=100, blank=True)
    channel_listing_id = models.CharField(max_length=100, blank=True)
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SKU mapping"
        ordering = ["account", "channel_sku", "channel_variant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "channel_sku"],
                condition=~Q(channel_sku=""),
                name="skumapping_unique_channel_sku",
            ),
            models.UniqueConstraint(
                fields=["tenant", "account", "channel_variant_id"],
                condition=~Q(channel_variant_id=""),
                name="skumapping_unique_variant",
            ),
            models.CheckConstraint(
                condition=~Q(channel_sku="", channel_variant_id=""),
                name="skumapping_names_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_sku or self.channel_variant_id} → {self.sku.code}"


class ChannelOrderState(models.TextChoices):
    OPEN = "open", "Imported"
    UNMAPPED = "unmapped", "Waiting for SKU mapping"
    CANCELLED = "cancelled", "Cancelled at the channel"


class ChannelOrder(TenantOwned):
    """A marketplace's order as we received it, and the order we made of it.

    One row per (account, the channel's order id): every webhook or poll of that order
    goes through it under its row lock, so concurrent deliveries make one order.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="channel_orders")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True, help_text="The channel's own order number.")
    order = models.ForeignKey(  # one at most: channelorder_unique_order
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="channel_order"
    )
    state = models.CharField(max_length=10, choices=ChannelOrderState.choices, default=ChannelOrderState.OPEN)
    channel_updated_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    notes = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    attention = models.CharField(
        max_length=300, blank=True, help_text="Set when the channel asked for something staff must resolve."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "external_id"], name="channelorder_unique_external_id"
            ),
            # A one-to-one in effect; with tenant_id, as a database distributed by tenant needs.
            models.UniqueConstraint(fields=["tenant", "order"], name="channelorder_unique_order"),
        ]
        indexes = [models.Index(fields=["tenant", "state"], name="channelorder_state_idx")]

    def __str__(self) -> str:
        return f"{self.account.get_kind_display()} order {self.name or self.external_id}"


class ChannelOrderLine(TenantOwned):
    """One line of a channel order: the channel's names for the item, and our line for it.

    `sku` is empty while no mapping names the item; the order line then carries the tenant's
    placeholder SKU and the order is on hold "unmapped SKU".
    """

    channel_order = models.ForeignKey(ChannelOrder, on_delete=models.CASCADE, related_name="lines")
    channel_line_id = models.CharField(max_length=100, blank=True)
    channel_sku = models.CharField(max_length=255, blank=True)
    channel_variant_id = models.CharField(max_length=100, blank=True)
    channel_listing_id = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    sku = models.ForeignKey(
        "inventory.SKU", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["tenant", "sku"], name="channelorderline_sku_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.channel_sku or self.channel_variant_id}"

    @property
    def mapped(self) -> bool:
        return self.sku_id is not None


class ChannelStock(TenantOwned):
    """What one channel account was last told it may sell of one of our SKUs."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="stock")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, related_name="+")
    wanted_quantity = models.IntegerField(
        default=0, help_text="Sellable minus the buffer, when last computed."
    )
    published_quantity = models.IntegerField(null=True, blank=True, help_text="What the channel last took.")
    published_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "channel stock level"
        ordering = ["account", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "sku"], name="channelstock_unique_sku")
        ]

    def __str__(self) -> str:
        shown = (
            "not published yet" if self.published_quantity is None else f"{self.published_quantity} published"
        )
        return f"{self.sku.code} on {self.account.name}: {shown}"


class RateBucket(TenantOwned):
    """A token bucket per account and vendor operation (integrations/ratelimit.py).

    `tokens` was the bucket's fill at `refreshed_at`; it refills at `rate` per second up to
    `burst`. After a 429 the bucket is emptied and `rate` is what the vendor's header said.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="rate_buckets")
    operation = models.CharField(max_length=60)
    tokens = models.FloatField()
    rate = models.FloatField()
    burst = models.PositiveIntegerField()
    refreshed_at = models.DateTimeField()
    throttled = models.PositiveIntegerField(default=0, help_text="429 answers seen.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "operation"], name="ratebucket_unique_op")
        ]

    def __str__(self) -> str:
        return f"{self.operation} on {self.account.name}: {self.tokens:.0f} of {self.burst} calls left"
