from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oms.core.errors import DomainError
from oms.services import tenant_bootstrap


class Command(BaseCommand):
    help = "Create a tenant, its owner (an admin user) and an API key. The key is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument(
            "--owner-password", default=None, help="Optional; without it set one with changepassword"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, user, raw_key = tenant_bootstrap(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                password=options["owner_password"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Tenant {tenant.slug} (id {tenant.pk}) created; owner {user.username}.")
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(raw_key)
