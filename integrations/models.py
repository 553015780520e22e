"""Connector framework: per-tenant vendor accounts and the inbound event inbox."""

from __future__ import annotations

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


def new_webhook_token() -> str:
    """An unguessable webhook URL token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


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
        unique=True,
        default=new_webhook_token,
        editable=False,
        help_text="The unguessable part of this account's webhook URL. Rotate it if the URL leaks.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "name"], name="channelaccount_unique_name")
        ]
        indexes = [models.Index(fields=["tenant", "kind", "active"], name="channelaccount_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    def __repr__(self) -> str:  # never the secrets
        return f"<ChannelAccount {self.pk} {self.kind}:{self.name}>"

    def clean(self) -> None:
        super().clean()
        validate_base_url(self.base_url)

    def validate_unique(self, exclude: Any = None) -> None:
        # The token is 256 random bits that no form sets, and the database keeps it unique;
        # Django's own check would query across tenants.
        super().validate_unique(exclude={*(exclude or ()), "webhook_token"})

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
