"""A demo tenant for a newcomer: `make run` calls this. Safe to run again (it does nothing twice).

Each app that has demo data exposes `<app>/demo.py` with `seed(tenant, stdout, clock)`; they run
in INSTALLED_APPS order, so stock exists before orders are placed, orders before shipments,
shipments before returns. Together they build thirty days of a shop a merchant can judge the
product by: a few hundred orders from every channel in every state, shipments (some late, one
tracking exception), returns and refunds, holds, backorders and stockouts, failed and
dead-lettered inbound events, unmapped channel SKUs.

History is made through the services, as it would have happened, under a demo clock
(`DemoClock`): while the seed runs, `django.utils.timezone.now` answers the time the module
sets (`clock.set(moment)`), so placement times, timelines, audit entries, the stock ledger,
shipments and returns all carry their moment in the last thirty days. The side effects that
history wrote to the outbox (customer emails, tracking pushes to the channels, releases to the
warehouse the seed already made) belong to the past: they are dropped at the end, not sent.
Everything runs in one transaction: a failed seed leaves nothing behind; what must run between
transactions (payments: the provider is never called inside one) follows the commit, through each
module's optional `seed_after_commit`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from oms.models import ApiKey, Membership, OutboxMessage, OutboxState, PaymentGatewayChoice, Role, Tenant
from oms.services import api_key_create

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_API_KEY_FILE = "demo-api-key.txt"
HISTORY_DAYS = 30


class DemoClock:
    """The time the demo's history is at. `now()` is that moment plus the real time since it was
    set, so rows written one after the other keep their order."""

    def __init__(self, real_now: Any) -> None:
        self.real_now = real_now
        self.today = real_now()  # the end of the history: the real time when the seed began
        self._at = self.today
        self._since = time.monotonic()

    def set(self, moment: datetime) -> None:
        self._at, self._since = min(moment, self.today), time.monotonic()

    def now(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._since)


@contextmanager
def demo_clock() -> Iterator[DemoClock]:
    """`timezone.now` (and every model field whose default is it) answers the demo clock inside."""
    real_now = timezone.now
    clock = DemoClock(real_now)
    defaults = [
        field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if getattr(field, "default", None) is real_now
    ]

    def use(now: Any) -> None:
        timezone.now = now
        for field in defaults:
            field.default = now
            field.__dict__.pop("_get_default", None)  # Django caches the default's callable

    use(clock.now)
    try:
        yield clock
    finally:
        use(real_now)


def demo_modules() -> Iterator[Any]:
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        yield module


class Command(BaseCommand):
    help = (
        "Create the demo tenant: 3 warehouses, 50 SKUs, 30 days of orders from every channel with "
        "shipments, returns, holds and exceptions, a demo login."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        started = time.monotonic()
        with transaction.atomic():
            tenant, created = Tenant.objects.get_or_create(
                # The demo shop pays through the sandbox: explicitly, so it works whatever the settings.
                slug=DEMO_SLUG,
                defaults={"name": "Demo Outfitters", "payment_gateway": PaymentGatewayChoice.SANDBOX},
            )
            user_model = get_user_model()
            user = user_model.objects.filter(username=DEMO_EMAIL).first()
            if user is None:
                user = user_model.objects.create_user(DEMO_EMAIL, DEMO_EMAIL, DEMO_PASSWORD, is_staff=True)
            Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": Role.OWNER})
            key_path = settings.VAR_DIR / DEMO_API_KEY_FILE
            if not ApiKey.objects.for_tenant(tenant).filter(name="demo storefront").exists():
                _, raw = api_key_create(tenant=tenant, name="demo storefront", role=Role.MANAGER)
                key_path.write_text(raw + "\n")
                key_path.chmod(0o600)
            if created:
                self._history(tenant)
        if created:
            self._after_commit(tenant)
        state = "created" if created else "already present"
        self.stdout.write(f"Demo tenant {tenant.slug!r} {state} in {time.monotonic() - started:.1f} s.")
        self.stdout.write(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"Demo storefront API key: in {key_path}")

    def _history(self, tenant: Tenant) -> None:
        last = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with demo_clock() as clock:
            clock.set(clock.today - timedelta(days=HISTORY_DAYS + 1))
            for module in demo_modules():
                module.seed(tenant, self.stdout, clock)
        # What the history would have told (emails, channel pushes, label and release tasks for
        # shipments the seed already moved) happened in the past: it is not sent now.
        OutboxMessage.objects.filter(tenant=tenant, pk__gt=last, state=OutboxState.PENDING).delete()

    def _after_commit(self, tenant: Tenant) -> None:
        """What must run between transactions (payment services call the provider): each module's
        optional `seed_after_commit(tenant, stdout, clock)`. A failure here leaves the demo without
        that part, never half a history."""
        last = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with demo_clock() as clock:
            for module in demo_modules():
                after = getattr(module, "seed_after_commit", None)
                if after is not None:
                    after(tenant, self.stdout, clock)
        # The refund emails and webhooks of those past refunds are not sent now either.
        OutboxMessage.objects.filter(
            tenant=tenant, pk__gt=last, state=OutboxState.PENDING, task__startswith="notifications."
        ).delete()
