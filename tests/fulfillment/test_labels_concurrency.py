"""Real threads against the real database (SQLite in make test, PostgreSQL in CI): one label, bought once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fulfillment.labels import LabelBusy, label_purchase, label_request
from fulfillment.models import Label
from fulfillment.states import LabelState, ShipmentState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(index):
        try:
            barrier.wait(timeout=30)
            results.append(target(index))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_parallel_requests_for_one_shipment_make_one_label(
    tenant_a, shippo, shippo_account_a, packed_shipment
):
    results, errors = _run_threads(
        6, lambda _: label_request(tenant=tenant_a, shipment_id=packed_shipment.pk).pk
    )

    assert errors == []
    (label,) = Label.objects.for_tenant(tenant_a)
    assert set(results) == {label.pk}
    assert label.state == LabelState.PURCHASED  # the one enqueued task ran on commit
    assert shippo.purchases == 1
    packed_shipment.refresh_from_db()
    assert packed_shipment.state == ShipmentState.LABEL_PURCHASED


def test_deliveries_of_the_purchase_task_at_the_same_time_buy_once(
    tenant_a, shippo, shippo_account_a, packed_shipment
):
    label = Label.objects.create(
        tenant=tenant_a, shipment=packed_shipment, reference=f"acme:shp{packed_shipment.pk}:L1"
    )
    shippo.delay_next(1, seconds=1.0, method="POST", path="/transactions")  # the winner is slow to buy

    results, errors = _run_threads(4, lambda _: label_purchase(tenant=tenant_a, label_id=label.pk).state)

    assert shippo.purchases == 1
    assert all(isinstance(exc, LabelBusy) for exc in errors), errors
    assert LabelState.PURCHASED in results
    label.refresh_from_db()
    assert label.state == LabelState.PURCHASED and label.attempts == 1
