"""A demo tenant for a newcomer: `make run` calls this. Safe to run again (it does nothing twice).

Each app that has demo data exposes `<app>/demo.py` with `seed(tenant, stdout)`; they run in
INSTALLED_APPS order, so stock exists before orders are placed.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from oms.models import ApiKey, Membership, PaymentGatewayChoice, Role, Tenant
from oms.services import api_key_create

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_API_KEY_FILE = "demo-api-key.txt"


class Command(BaseCommand):
    help = "Create the demo tenant: 3 warehouses, about 50 SKUs with stock, a few orders, a demo login."

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

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
                for config in apps.get_app_configs():
                    try:
                        module = importlib.import_module(f"{config.name}.demo")
                    except ModuleNotFoundError as exc:
                        if exc.name != f"{config.name}.demo":
                            raise
                        continue
                    module.seed(tenant, self.stdout)
        state = "created" if created else "already present"
        self.stdout.write(f"Demo tenant {tenant.slug!r} {state}.")
        self.stdout.write(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"Demo storefront API key: in {key_path}")
