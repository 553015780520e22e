"""reconcile_stock rebuilds on_hand from the ledger."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from inventory.models import StockLevel
from tests.inventory.factories import stock


def test_reports_and_fixes_drift(tenant_a, warehouses, sku_a):
    level = stock(tenant_a, sku_a, warehouses[0], 5)
    StockLevel.objects.for_tenant(tenant_a).filter(pk=level.pk).update(
        on_hand=7
    )  # a write that skipped the ledger

    out = StringIO()
    call_command("reconcile_stock", stdout=out)
    assert "SKU-123@W1: on_hand 7, ledger 5 (drift +2)" in out.getvalue()
    assert "1 drifted, 0 fixed" in out.getvalue()
    level.refresh_from_db()
    assert level.on_hand == 7

    out = StringIO()
    call_command("reconcile_stock", "--fix", stdout=out)
    assert "1 drifted, 1 fixed" in out.getvalue()
    level.refresh_from_db()
    assert level.on_hand == 5

    out = StringIO()
    call_command("reconcile_stock", stdout=out)
    assert "0 drifted" in out.getvalue()
