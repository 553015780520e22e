"""Tracking against the fake Shippo over real HTTP, through the real SDK and the Shippo adapter:
the quiet poll, and the registration of a 3PL's tracking number."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from fulfillment.models import Shipment, TrackingEvent
from fulfillment.states import ShipmentState as S
from fulfillment.tasks import shipment_tracking_register_task, tracking_poll_quiet_task
from fulfillment.tracking import tracking_poll_quiet
from orders.models import Order
from orders.states import OrderState
from tests.fulfillment.shipped import shipped_order

QUIET = timedelta(hours=30)


def at_shippo(shippo, shipment):
    """The fake follows the parcel: registered through the adapter (POST /tracks), as on ship."""
    shipment_tracking_register_task(tenant_id=shipment.tenant_id, shipment_id=shipment.pk)
    assert ("usps", shipment.tracking_number) in shippo.tracks


def fresh(shipment):
    return Shipment.objects.for_tenant(shipment.tenant_id).get(pk=shipment.pk)


def test_the_quiet_poll_moves_a_shipment_through_the_fake_shippo(tenant_a, shippo, shippo_account_a):
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    at_shippo(shippo, shipment)
    shippo.advance(shipment.tracking_number, "TRANSIT", carrier="usps", emit=False)

    report = tracking_poll_quiet()

    assert (report.polled, report.moved) == (1, 1)
    after = fresh(shipment)
    assert (after.state, after.tracking_status) == (S.IN_TRANSIT, "TRANSIT")
    event = TrackingEvent.objects.for_tenant(tenant_a).get(shipment=shipment)
    assert (event.status, event.source) == ("TRANSIT", "poll")
    polls = [r for r in shippo.requests if r["method"] == "GET" and r["path"].startswith("/tracks/")]
    assert [r["path"].lower() for r in polls] == [f"/tracks/usps/{shipment.tracking_number}"]


def test_a_polled_delivery_delivers_the_order_and_emails_the_customer(tenant_a, shippo, shippo_account_a):
    order, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    at_shippo(shippo, shipment)
    shippo.advance(shipment.tracking_number, "DELIVERED", carrier="usps", emit=False)

    tracking_poll_quiet_task()
    tracking_poll_quiet_task()  # heard from now: not asked again

    assert fresh(shipment).state == S.DELIVERED
    assert Order.objects.for_tenant(tenant_a).get(pk=order.pk).state == OrderState.DELIVERED
    assert len([r for r in shippo.requests if r["path"].startswith("/tracks/")]) == 1
    assert TrackingEvent.objects.for_tenant(tenant_a).filter(shipment=shipment).count() == 1


def test_shippo_answering_503_does_not_crash_the_sweep(tenant_a, shippo, shippo_account_a):
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    at_shippo(shippo, shipment)
    shippo.fail_next(10, status=503, method="GET", path="/tracks/")

    report = tracking_poll_quiet()

    assert (report.polled, report.unavailable) == (0, 1)
    assert fresh(shipment).state == S.SHIPPED
    assert fresh(shipment).last_tracking_at is None  # asked again next run

    shippo.clear_faults()
    shippo.advance(shipment.tracking_number, "TRANSIT", carrier="usps", emit=False)
    tracking_poll_quiet()

    assert fresh(shipment).state == S.IN_TRANSIT


def test_shippo_refusing_connections_does_not_crash_the_sweep(tenant_a, shippo, shippo_account_a):
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    at_shippo(shippo, shipment)
    shippo.stop()
    try:
        report = tracking_poll_quiet()
    finally:
        shippo.start()

    assert report.unavailable == 1
    assert fresh(shipment).state == S.SHIPPED
    assert mail.outbox == []


def test_a_tenant_without_a_shippo_account_is_skipped(tenant_a, tenant_b, shippo, shippo_account_a):
    _, (without,) = shipped_order(tenant_b, quiet_for=QUIET)
    _, (shipment,) = shipped_order(tenant_a, quiet_for=QUIET)
    at_shippo(shippo, shipment)

    report = tracking_poll_quiet()

    assert report.skipped_tenants == [f"{tenant_b.pk}: no shippo account"]
    assert fresh(without).state == S.SHIPPED
    assert (fresh(shipment).state, fresh(shipment).tracking_status) == (S.SHIPPED, "UNKNOWN")
