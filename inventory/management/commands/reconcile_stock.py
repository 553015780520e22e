"""Rebuild on_hand from the stock ledger and report (or, with --fix, repair) drift."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Sum

from inventory import locks
from inventory.models import StockLevel, StockMovement
from oms.core.audit import audit_record
from oms.models import Tenant


class Command(BaseCommand):
    help = (
        "Compare each StockLevel.on_hand with the sum of its ledger rows; --fix sets on_hand to the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (slug)")
        parser.add_argument(
            "--fix", action="store_true", help="Set on_hand to the ledger sum where they differ"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("pk")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant {options['tenant']!r}")
        checked = drifted = fixed = 0
        for tenant in tenants:
            ledger = dict(
                StockMovement.objects.for_tenant(tenant)
                .values("stock_level_id")
                .annotate(total=Sum("delta"))
                .values_list("stock_level_id", "total")
            )
            levels = StockLevel.objects.for_tenant(tenant).select_related("sku", "warehouse").order_by("pk")
            for level in levels:
                checked += 1
                expected = ledger.get(level.pk, 0) or 0
                if expected == level.on_hand:
                    continue
                drifted += 1
                self.stdout.write(
                    f"{tenant.slug} {level.sku.code}@{level.warehouse.code}: on_hand {level.on_hand}, "
                    f"ledger {expected} (drift {level.on_hand - expected:+d})"
                )
                if options["fix"] and self._fix(tenant, level.pk, expected):
                    fixed += 1
        self.stdout.write(f"Checked {checked} stock rows: {drifted} drifted, {fixed} fixed.")
        if drifted and not options["fix"]:
            self.stdout.write("Run with --fix to set on_hand to the ledger.")

    def _fix(self, tenant: Tenant, level_pk: int, expected: int) -> bool:
        with transaction.atomic():
            level = locks.stock_lock(tenant=tenant, pks=[level_pk])[level_pk]
            total = (
                StockMovement.objects.for_tenant(tenant)
                .filter(stock_level_id=level_pk)
                .aggregate(t=Sum("delta"))["t"]
                or 0
            )
            if total < level.allocated + level.reserved:
                self.stderr.write(
                    f"  cannot fix stock row {level_pk}: the ledger ({total}) is below the "
                    f"{level.allocated + level.reserved} allocated or reserved; count it instead."
                )
                return False
            before = level.on_hand
            level.on_hand = total
            level.save(update_fields=["on_hand", "updated_at"])
            audit_record(
                tenant=tenant,
                actor="command:reconcile_stock",
                action="stock.reconciled",
                obj=level,
                before={"on_hand": before},
                after={"on_hand": total},
            )
            return True
