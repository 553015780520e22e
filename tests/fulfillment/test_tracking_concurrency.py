"""Tracking updates racing on one order: each status once, and the order delivered exactly once.

The last two shipments of an order delivered at the same moment must not both conclude that the
other one is still on its way (the order would stay shipped), nor both deliver the order. Real
threads, on SQLite and on PostgreSQL (where the order row lock is what makes it hold).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from fulfillment.carriers import TrackingUpdate
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.states import ShipmentState as S
from fulfillment.tracking import tracking_apply
from oms.models import OutboxMessage
from orders.models import Order, OrderEvent
from orders.states import OrderEventType, OrderState
from tests.fulfillment.shipped import shipped_order
from tests.oms.factories import TenantFactory

ROUNDS = 3
COPIES = 3  # each shipment's DELIVERED arrives this many times at once


def _race(tenant, shipments):
    errors: list[BaseException] = []
    jobs = [s for s in shipments for _ in range(COPIES)]
    barrier = threading.Barrier(len(jobs))

    def worker(shipment):
        try:
            update = TrackingUpdate(
                carrier="usps",
                tracking_number=shipment.tracking_number,
                status="DELIVERED",
                status_details="",
                status_date=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            )
            barrier.wait(timeout=30)
            tracking_apply(tenant=tenant, shipment_id=shipment.pk, update=update, source="webhook")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_the_last_shipments_delivered_at_once_deliver_the_order_once():
    tenant = TenantFactory(slug="race")
    for _ in range(ROUNDS):
        order, shipments = shipped_order(tenant, parcels=2)

        errors = _race(tenant, shipments)

        assert errors == []
        assert Order.objects.for_tenant(tenant).get(pk=order.pk).state == OrderState.DELIVERED
        assert set(
            Shipment.objects.for_tenant(tenant).filter(order=order).values_list("state", flat=True)
        ) == {S.DELIVERED}
        assert TrackingEvent.objects.for_tenant(tenant).filter(shipment__in=shipments).count() == 2
        delivered = OrderEvent.objects.for_tenant(tenant).filter(
            order=order, type=OrderEventType.TRANSITION, to_state=OrderState.DELIVERED
        )
        assert delivered.count() == 1
        emails = OutboxMessage.objects.filter(
            tenant=tenant,
            task="fulfillment.tasks.shipment_email_send_task",
            kwargs__kind="delivered_email",
            kwargs__shipment_id__in=[s.pk for s in shipments],
        )
        assert emails.count() == 2
