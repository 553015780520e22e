"""The auto_release flag read once per tenant, not per order, and a settings change seen at once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.models import FulfillmentSettings
from fulfillment.release import tenant_auto_release
from oms.models import OutboxMessage
from tests.fulfillment.floor import auto_release, place

RELEASE = "fulfillment.tasks.order_release_to_warehouse_task"


def _release_rows(tenant):
    return OutboxMessage.objects.filter(tenant=tenant, task=RELEASE).count()


def test_the_flag_is_read_once_and_a_saved_change_is_seen_by_the_next_order(tenant_a, stocked, monkeypatch):
    monkeypatch.setattr("oms.core.tasks.outbox_kick", lambda ids: None)  # rows stay for the count
    place(tenant_a, "W-1")
    assert _release_rows(tenant_a) == 1
    with CaptureQueriesContext(connection) as reads:
        assert tenant_auto_release(tenant_a.pk) is True
    assert [q["sql"] for q in reads.captured_queries] == []  # cached by the first order

    auto_release(tenant_a, False)  # staff turn it off
    place(tenant_a, "W-2")
    assert _release_rows(tenant_a) == 1  # the next order is not released

    auto_release(tenant_a, True)
    place(tenant_a, "W-3")
    assert _release_rows(tenant_a) == 2


def test_deleting_the_settings_row_brings_back_the_default(tenant_a, stocked):
    settings = auto_release(tenant_a, False)
    assert tenant_auto_release(tenant_a.pk) is False
    settings.delete()
    assert tenant_auto_release(tenant_a.pk) is True
    assert not FulfillmentSettings.objects.for_tenant(tenant_a).exists()


def test_each_tenant_has_its_own_flag(tenant_a, tenant_b):
    auto_release(tenant_a, False)
    assert tenant_auto_release(tenant_a.pk) is False
    assert tenant_auto_release(tenant_b.pk) is True
    auto_release(tenant_b, False)
    assert (tenant_auto_release(tenant_a.pk), tenant_auto_release(tenant_b.pk)) == (False, False)
