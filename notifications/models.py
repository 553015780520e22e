"""Outbound webhooks (endpoints, events, deliveries) and emails (templates, one row per email)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models

from notifications.states import DeliveryState, EmailKind, EmailState, EventType
from oms.core.fields import EncryptedTextField
from oms.core.models import TenantOwned


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


class WebhookEndpoint(TenantOwned):
    """A URL of the merchant's own systems that receives the events it subscribed to, signed."""

    url = models.URLField(max_length=500, help_text="http:// or https:// only")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event types it receives")
    secret = EncryptedTextField(default=new_secret, help_text="Signs every delivery (HMAC-SHA256)")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhookendpoint_active_idx")]

    def __str__(self) -> str:
        return self.description or self.url

    def receives(self, event_type: str) -> bool:
        return self.active and event_type in (self.events or [])


class WebhookEvent(TenantOwned):
    """Something that happened, once: its id and payload are the same in every delivery and replay."""

    public_id = models.CharField(max_length=40, default=new_event_id, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    refs = models.JSONField(default=dict, help_text="Our ids of what it is about (never sent)")
    data = models.JSONField(null=True, blank=True, help_text="The payload's data, built at first send")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "public_id"], name="webhookevent_unique_id")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class WebhookDelivery(TenantOwned):
    """One event to one endpoint: the delivery log."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    replay_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["tenant", "state"], name="webhookdelivery_state_idx")]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.get_state_display()})"


class EmailTemplate(TenantOwned):
    """A tenant's own subject and body for one kind of email; without one, the house text is used."""

    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    enabled = models.BooleanField(default=True, help_text="Off: this email is not sent at all")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="emailtemplate_unique_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


class EmailNotification(TenantOwned):
    """One email owed, written with its cause; the task sends it once."""

    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    key = models.CharField(max_length=100, help_text="What it is about, e.g. order:12")
    refs = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.PENDING)
    recipients = models.CharField(max_length=1000, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "key"], name="emailnotification_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.key}"


class LowStockMark(TenantOwned):
    """A stock row told low (stock.low, stockout alert) and not yet back above its reorder point:
    while it stands, further allocations of that row tell no one again."""

    stock_level = models.ForeignKey("inventory.StockLevel", on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "stock_level"], name="lowstockmark_unique_level")
        ]
        indexes = [models.Index(fields=["tenant", "sku"], name="lowstockmark_sku_idx")]

    def __str__(self) -> str:
        return f"low since {self.created_at:%Y-%m-%d %H:%M}"
