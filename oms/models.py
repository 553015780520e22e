"""Tenancy (tenants, memberships, API keys) and the append-only audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from oms.core.models import TenantOwned, TenantQuerySet
from oms.core.money import validate_currency
from oms.core.throttling import validate_rate


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Support agent"
    WAREHOUSE = "warehouse", "Warehouse"


class CapturePolicy(models.TextChoices):
    ON_SHIPMENT = "on_shipment", "Capture when the first shipment ships"
    ON_ORDER = "on_order", "Capture when the order is placed"


class SplitCapturePolicy(models.TextChoices):
    ALL_AT_FIRST = "all_at_first", "Capture everything at the first shipment"
    PER_SHIPMENT = "per_shipment", "Capture the shipped part, charge the rest later"


class PaymentGatewayChoice(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SANDBOX = "sandbox", "Sandbox (approves any card; for demos and testing only)"


class Tenant(models.Model):
    """A merchant. Holds the order policies the other rooms read."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    default_currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    allow_split_shipments = models.BooleanField(default=True)
    allow_backorder = models.BooleanField(default=True)
    max_shipments_per_order = models.PositiveSmallIntegerField(default=3)
    capture_policy = models.CharField(
        max_length=20, choices=CapturePolicy.choices, default=CapturePolicy.ON_SHIPMENT
    )
    split_capture_policy = models.CharField(
        max_length=20, choices=SplitCapturePolicy.choices, default=SplitCapturePolicy.ALL_AT_FIRST
    )
    agent_refund_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("100.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The most a support agent may refund at a time (order currency); 0: agents may not.",
    )
    # The provider an order's payment goes to when the request names none. "sandbox" approves any
    # card: outside development and tests it is the only way a tenant reaches the sandbox.
    payment_gateway = models.CharField(
        max_length=32, choices=PaymentGatewayChoice.choices, default=PaymentGatewayChoice.STRIPE
    )
    # Requests per period this tenant's API calls may make, all keys and staff together
    # (oms/core/throttling.py); blank: API_RATE_PER_TENANT.
    api_rate = models.CharField(
        max_length=32,
        blank=True,
        default="",
        validators=[validate_rate],
        help_text="API requests allowed, all keys together: e.g. 600/min, 20/s. Blank: the platform default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agent_refund_limit__gte=0), name="tenant_agent_refund_limit_gte_0"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} at {self.tenant.name} ({self.get_role_display().lower()})"


API_KEY_PREFIX = "oms"


def hash_api_key(raw: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is as good as a slow one here.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(TenantOwned):
    """A storefront's key. Stored hashed; the raw key is shown once, when it is made."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MANAGER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_raw_key() -> tuple[str, str]:
        prefix = secrets.token_hex(6)
        return prefix, f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"

    @staticmethod
    def split_raw_key(raw: str) -> str | None:
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1]:
            return None
        return parts[1]

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_api_key(raw))


class AppendOnlyQuerySet(TenantQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only")


class AuditEvent(TenantOwned):
    """Who did what to which object, with the state before and after. Never edited, never deleted."""

    # PROTECT: a user who acted is deactivated, never deleted, so the trail keeps its link.
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="user:<email>, api_key:<prefix>, task or system")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["tenant", "created_at"], name="audit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} of {self.object_type} {self.object_id} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or kwargs.get("force_update"):
            raise PermissionError("Audit events are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only")


class IdempotencyRecord(TenantOwned):
    """A create request's Idempotency-Key: the first response is kept and replayed for 24 h or more."""

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=200, help_text="Method and route the key was used on")
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"Idempotency key {self.key} on {self.scope}"


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """A task to hand to Celery, written in the same transaction as the change that causes it.

    The relay (`oms.core.outbox`) publishes pending rows and marks them sent; a worker that runs
    the task records `done_at`, so a second delivery of the same row is recognised and skipped.
    Rows of one tenant carry it; system-wide work has none.
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    task = models.CharField(max_length=200, help_text="The task's dotted name")
    kwargs = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Publish attempts so far")
    available_at = models.DateTimeField(default=timezone.now, help_text="Not relayed before this time")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True, help_text="A worker finished the task")
    last_error = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "outbox message"
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                condition=models.Q(state="pending"),
                name="outbox_pending_idx",
            ),
            models.Index(fields=["sent_at"], condition=models.Q(state="sent"), name="outbox_sent_idx"),
            models.Index(fields=["tenant", "state"], name="outbox_tenant_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} ({self.state})"


class WorkerHeartbeat(models.Model):
    """A Celery worker that is consuming: it refreshes its row every few seconds (oms/workers.py).

    Not tenant-owned: workers serve every tenant. /health reads these rows, which works on
    every broker (the embedded one has no remote control to ping workers with).
    """

    name = models.CharField(max_length=255, unique=True, help_text="node name and process id")
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
